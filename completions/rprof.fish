# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rprof_global_optspecs
    string join \n h/help V/version
end

function __fish_rprof_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rprof_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rprof_using_subcommand
    set -l cmd (__fish_rprof_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rprof -n "__fish_rprof_needs_command" -s h -l help -d 'Print help'
complete -c rprof -n "__fish_rprof_needs_command" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "record" -d 'Sample call stacks of a process or command into a data file (default rprof.data)'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "report" -d 'Show the hot functions, self and total, from any stack source'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "flamegraph" -d 'Render a flame graph (SVG) from any stack source, or record and render in one go'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "diff" -d 'Compare two profiles: differential flame graph and a table of what changed'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "strace-summary" -d 'Summarise system calls like `strace -c`, from perf tracepoints or ptrace'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "massif" -d 'Analyse a heap profile from valgrind\'s massif, or run massif on a command'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "convert" -d 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "generate-assets" -d 'Regenerate the shell completions and man pages (for maintainers)'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rprof -n "__fish_rprof_using_subcommand record" -s p -l pid -d 'Attach to these processes (comma-separated), every thread, including threads and children created later' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s d -l duration -d 'Stop after this many seconds (default: until the target exits or Ctrl-C)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s F -l freq -d 'Sampling frequency in Hz' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s e -l event -d 'Event to sample: cycles, cpu-clock, task-clock, page-faults (default: cycles when the hardware counter opens, else cpu-clock)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -l call-graph -d 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), or fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s t -l tid -d 'Sample only these threads (comma-separated tids)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -l push -d 'Upload pprof profiles to this Pyroscope or Parca server (base URL, e.g. http://localhost:4040)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -l push-format -d 'The server\'s API' -r -f -a "pyroscope\t'Grafana Pyroscope: `POST URL/ingest?name=APP{labels}&from=&until=&format=pprof`'
parca\t'Parca: `POST URL/profiles/writeraw`, JSON with base64 `rawProfile`s'"
complete -c rprof -n "__fish_rprof_using_subcommand record" -l app -d 'Application name the profiles are stored under (default: the command\'s or process\'s name)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -l label -d 'A label attached to every uploaded profile (repeatable)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -l push-queue -d 'Most unsent intervals kept while the server is unreachable (older ones are dropped and counted)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -l interval -d 'With --push: the length of each uploaded profile (`15s`, `500ms`, `1m`, or seconds)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s o -l output -d 'Data file to write; an existing one is kept as FILE.old' -r -F
complete -c rprof -n "__fish_rprof_using_subcommand record" -s a -l all-cpus -d 'Sample the whole system (every CPU, every process)'
complete -c rprof -n "__fish_rprof_using_subcommand record" -l no-kernel -d 'Sample user stacks only (by default kernel frames are included when permitted)'
complete -c rprof -n "__fish_rprof_using_subcommand record" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand record" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand report" -s i -l input -d 'The input, as perf\'s `-i FILE` (the same as INPUT)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l sort -d 'Group rows by function (unsymbolized addresses of a module as one `module+?` row), module, thread, line (file:line where known) or address (one row per code address)' -r -f -a "function\t'Function name; unsymbolized frames of one module form one row, `module+?`'
module\t'Module (executable or shared library)'
thread\t'Thread'
line\t'Source file and line (function name where unknown)'
address\t'Code address: one row per distinct address, unsymbolized ones included'"
complete -c rprof -n "__fish_rprof_using_subcommand report" -l limit -d 'Show at most N rows' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l percent-limit -d 'Hide rows whose Total is below P percent' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l tid -d 'Only samples of these threads (comma-separated tids)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l format -d 'Output format' -r -f -a "text\t'A table for people'
json\t'The header and rows as JSON'
folded\t'Folded stacks, for `rprof flamegraph -` and other tools'
pprof\t'Gzipped pprof (`profile.proto`), for `go tool pprof`, Pyroscope and Parca; needs `-o` unless stdout is redirected'"
complete -c rprof -n "__fish_rprof_using_subcommand report" -l snapshot -d 'For massif input: the snapshot to use (default: the peak)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l sample-index -d 'For pprof input: the sample type to read (`cpu`, `alloc_space`, `inuse_space`, … or an index; default: the profile\'s default type, else its last, as `go tool pprof` does)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l push -d 'Upload pprof profiles to this Pyroscope or Parca server (base URL, e.g. http://localhost:4040)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l push-format -d 'The server\'s API' -r -f -a "pyroscope\t'Grafana Pyroscope: `POST URL/ingest?name=APP{labels}&from=&until=&format=pprof`'
parca\t'Parca: `POST URL/profiles/writeraw`, JSON with base64 `rawProfile`s'"
complete -c rprof -n "__fish_rprof_using_subcommand report" -l app -d 'Application name the profiles are stored under (default: the command\'s or process\'s name)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l label -d 'A label attached to every uploaded profile (repeatable)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l push-queue -d 'Most unsent intervals kept while the server is unreachable (older ones are dropped and counted)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -s o -l output -d 'Write the report to FILE instead of stdout' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l event -d 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read (default: the first present). `cycles` also finds `cycles:u`' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand report" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s i -l input -d 'The input, as perf\'s `-i FILE` (the same as INPUT)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s o -l output -d 'Where to write the SVG (or folded text with --folded); `-` for stdout' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l title -d 'Title of the graph (default: "Flame Graph"; "Icicle Graph" when inverted, "Flame Chart" or "Icicle Chart" for a flame chart)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l subtitle -d 'Subtitle under the title (default: the target and sample count)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l colors -d 'Colour palette: hot, mem, io, wakeup, java, js, perl, python, rust, red, green, blue, aqua, yellow, purple, orange' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l minwidth -d 'Omit frames narrower than this many pixels' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l width -d 'Width of the image in pixels' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l focus -d 'Keep only stacks with a function matching this regex' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l ignore -d 'Drop stacks with a function matching this regex' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l tid -d 'Only samples of these threads (comma-separated tids)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l snapshot -d 'For massif input: the snapshot to draw (default: the peak)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l sample-index -d 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s p -l pid -d 'Attach to these processes (comma-separated), every thread, including threads and children created later' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s d -l duration -d 'Stop after this many seconds (default: until the target exits or Ctrl-C)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s F -l freq -d 'Sampling frequency in Hz' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s e -l event -d 'Event to sample: cycles, cpu-clock, task-clock, page-faults (default: cycles when the hardware counter opens, else cpu-clock)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l call-graph -d 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), or fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l inverted -d 'Draw an icicle graph: roots at the top, growing down'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l reverse -d 'Reverse every stack before merging, so callers sit on top of their callees'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l flamechart -d 'Flame chart: samples in time order instead of merged alphabetically (needs timestamps)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l per-thread -d 'One root per thread (`name-tid`)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l collapse-recursion -d 'Merge directly recursive calls of a function into one frame'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l folded -d 'Write folded stacks instead of SVG (default output then stdout)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s a -l all-cpus -d 'Sample the whole system (every CPU, every process)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l no-kernel -d 'Sample user stacks only (by default kernel frames are included when permitted)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s h -l help -d 'Print help'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -s i -l input -d 'An input, as perf\'s `-i FILE`: given twice, BEFORE then AFTER; given once, BEFORE (and the one positional input is AFTER)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -s o -l output -d 'Where to write the differential flame graph' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l limit -d 'Show at most N rows per table' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l format -d 'Format of the change table on stdout' -r -f -a "text\t'Tables for people'
json\t'JSON'"
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l snapshot -d 'For massif inputs: the snapshot to compare (default: each file\'s peak)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l sample-index -d 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l event -d 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read from each (default: the first present). `cycles` also finds `cycles:u`' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l title -d 'Title of the graph' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l width -d 'Which weight sets a frame\'s width in the graph; the colour always shows the change. `max` (the default) keeps every stack of either input visible; `after` (inferno\'s choice) hides what vanished, `before` hides what is new' -r -f -a "before\t'BEFORE\'s weight: what shrank or vanished stays visible, what is new has no width'
after\t'AFTER\'s weight (inferno\'s and difffolded.pl\'s own choice): what vanished has no width'
max\t'The larger of the two: every stack of either input keeps a width'"
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l no-normalize -d 'Compare raw weights instead of scaling BEFORE to AFTER\'s total (the default for heap profiles, whose bytes are absolute amounts)'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l normalize -d 'Scale BEFORE\'s weights to AFTER\'s total before comparing (the default, except for two heap profiles in bytes); the factor is printed'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l negate -d 'Swap the colours: red for what shrank, blue for what grew'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l allow-mismatch -d 'Compare inputs of different events or weight units (cpu-clock against page-faults, ns against samples) with a warning instead of refusing: only the shares then mean something'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -s p -l pid -d 'Trace these running processes (every thread, later threads and forked children)' -r
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -s d -l duration -d 'Stop after this many seconds: attached targets run on untraced; a launched command gets SIGTERM and is traced until it exits (as `record -d` does)' -r
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -s S -l sort -d 'Sort rows by this column' -r -f -a "time\t'Total time, largest first'
calls\t'Calls, most first'
errors\t'Errors, most first'
name\t'Syscall name, alphabetical'
avg\t'Mean time per call, largest first'
max\t'Largest single call, largest first'"
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -l format -d 'Output format' -r -f -a "text\t'strace -c style tables'
json\t'One JSON document'"
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -s o -l output -d 'Write the summary to FILE instead of stdout' -r -F
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -l backend -d 'Tracing backend' -r -f -a "auto\t'perf when the raw_syscalls tracepoints open, else ptrace'
perf\t'raw_syscalls tracepoints through perf_event_open (low overhead)'
ptrace\t'ptrace syscall stops (works without tracefs or perf permissions; slow, like strace)'"
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -l from-log -d 'Summarise an existing `strace -f -T` log instead of tracing (`-` reads standard input)' -r -F
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -l per-thread -d 'One table per thread, with its name'
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -l per-process -d 'One table per process'
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -l errors -d 'List the error codes of each failing syscall (`ENOENT ×12`)'
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -l counts-only -d 'Only count calls and errors (no latencies): the lowest overhead'
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l valgrind-arg -d 'Extra argument for valgrind when running a command (repeatable), e.g. `--valgrind-arg=--pages-as-heap=yes`' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l keep -d 'Where to keep massif\'s output when running a command (default: massif.out.PID in the current directory, as valgrind names it)' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l threshold -d 'Merge tree entries below this percentage of the snapshot\'s total, like ms_print\'s --threshold (0 to 100; a trailing % is accepted)' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l x -d 'Width of the ASCII graph in columns (4 to 1000), like ms_print\'s --x' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l y -d 'Height of the ASCII graph in rows (4 to 1000), like ms_print\'s --y' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l snapshot -d 'Snapshot for --flamegraph and --folded (default: the peak); it must be a detailed one' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l flamegraph -d 'Also write the chosen snapshot\'s allocation tree as a flame graph weighted by bytes' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l chart -d 'Also write a chart of heap size over time, stacked by the top allocation sites' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l format -d 'Output format on stdout' -r -f -a "text\t'Summary, then ms_print\'s graph, table and trees'
json\t'The whole parsed profile (every snapshot, trees nested) as JSON'"
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l top -d 'How many allocation sites the summary and the chart show' -r
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l folded -d 'Print the chosen snapshot as folded stacks (`main;f;g BYTES`) instead of the text'
complete -c rprof -n "__fish_rprof_using_subcommand massif" -l summary-only -d 'Print only the summary, without ms_print\'s graph, table and trees'
complete -c rprof -n "__fish_rprof_using_subcommand massif" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand massif" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand convert" -s i -l input -d 'The input, as perf\'s `-i FILE` (the same as INPUT)' -r
complete -c rprof -n "__fish_rprof_using_subcommand convert" -s o -l output -d 'The rprof data file to write' -r
complete -c rprof -n "__fish_rprof_using_subcommand convert" -l to -d 'Output format (default: pprof for a name ending in `.pb.gz`/`.pprof`, folded for `.folded`, else an rprof data file)' -r -f -a "rprof\t'rprof\'s own data file'
pprof\t'Gzipped pprof (`profile.proto`)'
folded\t'Folded stacks (`a;b;c WEIGHT` lines)'"
complete -c rprof -n "__fish_rprof_using_subcommand convert" -l sample-index -d 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)' -r
complete -c rprof -n "__fish_rprof_using_subcommand convert" -l event -d 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read (default: the first present). `cycles` also finds `cycles:u`' -r
complete -c rprof -n "__fish_rprof_using_subcommand convert" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand convert" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand generate-assets" -l dir -d 'Directory under which `completions/` and `man/` are written' -r -F
complete -c rprof -n "__fish_rprof_using_subcommand generate-assets" -s h -l help -d 'Print help'
complete -c rprof -n "__fish_rprof_using_subcommand generate-assets" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "record" -d 'Sample call stacks of a process or command into a data file (default rprof.data)'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "report" -d 'Show the hot functions, self and total, from any stack source'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "flamegraph" -d 'Render a flame graph (SVG) from any stack source, or record and render in one go'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "diff" -d 'Compare two profiles: differential flame graph and a table of what changed'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "strace-summary" -d 'Summarise system calls like `strace -c`, from perf tracepoints or ptrace'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "massif" -d 'Analyse a heap profile from valgrind\'s massif, or run massif on a command'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "convert" -d 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "generate-assets" -d 'Regenerate the shell completions and man pages (for maintainers)'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif convert generate-assets help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
