# Benchmark workload for `rprof massif` vs `ms_print`: a real program (CPython) with a heap that
# grows through many distinct allocation paths (dicts, lists, strings, JSON encode/decode).
import json

d = {}
for i in range(200000):
    d[str(i)] = [i] * 5
s = json.dumps(d)
back = json.loads(s)
words = [w.upper() for w in s.split(",")[:100000]]
del d
