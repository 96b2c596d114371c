"""Mixed Python workload for the record benchmark: JSON, regular expressions, sorting, string
building, dictionaries and a little file I/O, a fixed amount of work (ROUNDS, argv[1])."""
import json
import os
import re
import sys
import tempfile

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
WORD = re.compile(r"[a-z]+_(\d+)")


def make_records(n):
    return [{"id": i, "name": f"item_{i}", "tags": [f"t{i % 7}", f"g{i % 13}"], "score": (i * 7919) % 1000}
            for i in range(n)]


def json_roundtrip(records):
    return json.loads(json.dumps(records))


def regex_scan(records):
    text = " ".join(r["name"] for r in records)
    return sum(int(m.group(1)) for m in WORD.finditer(text))


def sort_and_group(records):
    groups = {}
    for r in sorted(records, key=lambda r: (r["score"], r["name"])):
        groups.setdefault(r["tags"][0], []).append(r["id"])
    return {k: len(v) for k, v in groups.items()}


def file_io(records):
    with tempfile.NamedTemporaryFile("w+", delete=False) as f:
        for r in records:
            f.write(f"{r['id']},{r['name']},{r['score']}\n")
        path = f.name
    with open(path) as f:
        total = sum(int(line.split(",")[2]) for line in f)
    os.unlink(path)
    return total


def main():
    acc = 0
    for _ in range(ROUNDS):
        recs = make_records(20000)
        acc += len(json_roundtrip(recs))
        acc += regex_scan(recs)
        acc += len(sort_and_group(recs))
        acc += file_io(recs)
    print(acc % 1000003)


if __name__ == "__main__":
    main()
