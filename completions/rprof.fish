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
complete -c rprof -n "__fish_rprof_needs_command" -f -a "heap" -d 'Profile a command\'s heap natively (no valgrind): peak, leaks, busiest and temporary allocation sites, with stacks; massif, pprof and folded output'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "convert" -d 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "list" -d 'List the events this machine can record with `record -e`, grouped like `perf list`'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout'
complete -c rprof -n "__fish_rprof_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rprof -n "__fish_rprof_using_subcommand record" -s p -l pid -d 'Attach to these processes (comma-separated), every thread, including threads and children created later' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s C -l cpu -d 'Only these CPUs, in perf\'s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s u -l uid -d 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf\'s -u)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s d -l duration -d 'Stop after this many seconds (default: until the target exits or Ctrl-C)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s F -l freq -d 'Sampling frequency in Hz' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s c -l count -d 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -s e -l event -d 'Events to sample, perf\'s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as \'sched:sched_wak*\' for every match). perf\'s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -l call-graph -d 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers), or lbr (user stacks from the CPU\'s last branch record, on Intel CPUs that have one)' -r
complete -c rprof -n "__fish_rprof_using_subcommand record" -l min-block -d 'Off-CPU and wall-clock modes: waits shorter than this (e.g. 100us, 1ms) keep no stack; each thread\'s are summed under one `[off-cpu: short waits]` frame' -r
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
complete -c rprof -n "__fish_rprof_using_subcommand record" -l off-cpu -d 'Off-CPU profile: for every context switch away from a target thread, the stack where it blocked (kernel and user) weighted by the ns until it ran again, with an `[off-cpu: S|D|...]` leaf giving the thread state. Runnable waits for a CPU are left out (the wall-clock mode keeps them). Uses the sched:sched_switch tracepoint; no BPF needed'
complete -c rprof -n "__fish_rprof_using_subcommand record" -l wall -d 'Wall-clock profile: on-CPU cpu-clock samples and all off-CPU time (runqueue waits included, as `[off-cpu: R]`) in one profile, both in ns, so each thread\'s shares are of its wall-clock time'
complete -c rprof -n "__fish_rprof_using_subcommand record" -s g -d 'Frame-pointer call graphs, as perf\'s -g (the same as --call-graph fp)'
complete -c rprof -n "__fish_rprof_using_subcommand record" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand record" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand report" -s i -l input -d 'The input, as perf\'s `-i FILE` (the same as INPUT)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l sort -d 'Group rows by these keys, comma-separated (`--sort module,function`, as perf\'s --sort): function (unsymbolized addresses of a module as one `module+?` row), module, thread, line (file:line where known), address (one row per code address), pid, comm, cpu (the CPU samples ran on, for rprof recordings). perf\'s names (sym, dso, srcline, tid) work too' -r -f -a "function\t'Function name; unsymbolized frames of one module form one row, `module+?`'
module\t'Module (executable or shared library)'
thread\t'Thread'
line\t'Source file and line (function name where unknown)'
address\t'Code address: one row per distinct address, unsymbolized ones included'
pid\t'Process (`pid:name`)'
comm\t'Command name of the thread (`comm`)'
cpu\t'The CPU the samples ran on (rprof recordings), as `perf report --sort cpu`'"
complete -c rprof -n "__fish_rprof_using_subcommand report" -l limit -d 'Show at most N rows (with --callers, --callees, --list: N functions)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l percent-limit -d 'Hide rows whose Total (Self with --no-children) is below P percent; with --tree, nodes below P percent of the whole' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l callers -d 'For each function matching REGEX: its callers with the weight through each edge, and its Total and Self (pprof\'s -peek, perf\'s caller graph)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l callees -d 'For each function matching REGEX: its callees with the weight through each edge; given with the same REGEX as callers, both are shown around the function' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l depth -d 'With --tree: show at most N levels' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l list -d 'The source of each function matching REGEX with Self and Total per line (pprof\'s -list), read from the file the debug info names' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l focus -d 'Keep only samples with a function matching REGEX anywhere on the stack (pprof\'s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l ignore -d 'Drop samples with a function matching REGEX anywhere on the stack (pprof\'s -ignore)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l hide -d 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof\'s -hide). A sample left with no frame is dropped' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l tid -d 'Only samples of these threads (comma-separated tids)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l comm -d 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf\'s --comms)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l module -d 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf\'s --dsos)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l time -d 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)' -r
complete -c rprof -n "__fish_rprof_using_subcommand report" -l pid -d 'Only samples of these processes (comma-separated pids)' -r
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
complete -c rprof -n "__fish_rprof_using_subcommand report" -l no-children -d 'Self only, ordered by it (perf\'s default without -g): rows that never ran themselves are left out'
complete -c rprof -n "__fish_rprof_using_subcommand report" -l tree -d 'The call tree from the roots, indented, with Total and Self per node; pruned by the percent limit and the depth, bottom-up when inverted'
complete -c rprof -n "__fish_rprof_using_subcommand report" -l inverted -d 'With --tree: from the innermost frames out to their callers (bottom-up)'
complete -c rprof -n "__fish_rprof_using_subcommand report" -l collapse-recursion -d 'Merge directly recursive calls of a function into one frame'
complete -c rprof -n "__fish_rprof_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand report" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s i -l input -d 'The input, as perf\'s `-i FILE` (the same as INPUT)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s o -l output -d 'Where to write the SVG (or folded text with --folded); `-` for stdout' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l title -d 'Title of the graph (default: "Flame Graph"; "Icicle Graph" when inverted, "Flame Chart" or "Icicle Chart" for a flame chart)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l subtitle -d 'Subtitle under the title (default: the target and sample count)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l colors -d 'Colour palette: hot, mem, io, wakeup, java, js, perl, python, rust, red, green, blue, aqua, yellow, purple, orange' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l minwidth -d 'Omit frames narrower than this many pixels' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l width -d 'Width of the image in pixels' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l focus -d 'Keep only samples with a function matching REGEX anywhere on the stack (pprof\'s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l ignore -d 'Drop samples with a function matching REGEX anywhere on the stack (pprof\'s -ignore)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l hide -d 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof\'s -hide). A sample left with no frame is dropped' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l tid -d 'Only samples of these threads (comma-separated tids)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l comm -d 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf\'s --comms)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l module -d 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf\'s --dsos)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l time -d 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l snapshot -d 'For massif input: the snapshot to draw (default: the peak)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l sample-index -d 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s p -l pid -d 'Attach to these processes (comma-separated), every thread, including threads and children created later' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s C -l cpu -d 'Only these CPUs, in perf\'s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s u -l uid -d 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf\'s -u)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s d -l duration -d 'Stop after this many seconds (default: until the target exits or Ctrl-C)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s F -l freq -d 'Sampling frequency in Hz' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s c -l count -d 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s e -l event -d 'Events to sample, perf\'s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as \'sched:sched_wak*\' for every match). perf\'s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l call-graph -d 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers), or lbr (user stacks from the CPU\'s last branch record, on Intel CPUs that have one)' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l min-block -d 'Off-CPU and wall-clock modes: waits shorter than this (e.g. 100us, 1ms) keep no stack; each thread\'s are summed under one `[off-cpu: short waits]` frame' -r
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l inverted -d 'Draw an icicle graph: roots at the top, growing down'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l reverse -d 'Reverse every stack before merging, so callers sit on top of their callees'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l flamechart -d 'Flame chart: samples in time order instead of merged alphabetically (needs timestamps)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l per-thread -d 'One root per thread (`name-tid`)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l collapse-recursion -d 'Merge directly recursive calls of a function into one frame'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l folded -d 'Write folded stacks instead of SVG (default output then stdout)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s a -l all-cpus -d 'Sample the whole system (every CPU, every process)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l no-kernel -d 'Sample user stacks only (by default kernel frames are included when permitted)'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l off-cpu -d 'Off-CPU profile: for every context switch away from a target thread, the stack where it blocked (kernel and user) weighted by the ns until it ran again, with an `[off-cpu: S|D|...]` leaf giving the thread state. Runnable waits for a CPU are left out (the wall-clock mode keeps them). Uses the sched:sched_switch tracepoint; no BPF needed'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -l wall -d 'Wall-clock profile: on-CPU cpu-clock samples and all off-CPU time (runqueue waits included, as `[off-cpu: R]`) in one profile, both in ns, so each thread\'s shares are of its wall-clock time'
complete -c rprof -n "__fish_rprof_using_subcommand flamegraph" -s g -d 'Frame-pointer call graphs, as perf\'s -g (the same as --call-graph fp)'
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
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l focus -d 'Keep only samples with a function matching REGEX anywhere on the stack (pprof\'s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l ignore -d 'Drop samples with a function matching REGEX anywhere on the stack (pprof\'s -ignore)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l hide -d 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof\'s -hide). A sample left with no frame is dropped' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l tid -d 'Only samples of these threads (comma-separated tids)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l comm -d 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf\'s --comms)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l module -d 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf\'s --dsos)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l time -d 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l pid -d 'Only samples of these processes (comma-separated pids)' -r
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l no-normalize -d 'Compare raw weights instead of scaling BEFORE to AFTER\'s total (the default for heap profiles, whose bytes are absolute amounts)'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l normalize -d 'Scale BEFORE\'s weights to AFTER\'s total before comparing (the default, except for two heap profiles in bytes); the factor is printed'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l negate -d 'Swap the colours: red for what shrank, blue for what grew'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l allow-mismatch -d 'Compare inputs of different events or weight units (cpu-clock against page-faults, ns against samples) with a warning instead of refusing: only the shares then mean something'
complete -c rprof -n "__fish_rprof_using_subcommand diff" -l collapse-recursion -d 'Merge directly recursive calls of a function into one frame'
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
complete -c rprof -n "__fish_rprof_using_subcommand strace-summary" -l backend -d 'Tracing backend' -r -f -a "auto\t'bpf where BPF loads, else perf when the raw_syscalls tracepoints open, else ptrace (each fallback says why)'
bpf\t'In-kernel counts and latency histograms in BPF maps (lowest overhead, nothing lost)'
perf\t'raw_syscalls tracepoints through perf_event_open, every call through a ring buffer (exact latencies per call; loses records when the reader falls behind)'
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
complete -c rprof -n "__fish_rprof_using_subcommand heap" -l massif -d 'Also write the heap profile in massif\'s format (for ms_print, `rprof massif FILE`, massif-visualizer); time unit B (bytes allocated and freed)' -r -F
complete -c rprof -n "__fish_rprof_using_subcommand heap" -l pprof -d 'Also write a pprof heap profile (gzipped; alloc_objects, alloc_space, inuse_objects, inuse_space, where in-use means still allocated at exit)' -r -F
complete -c rprof -n "__fish_rprof_using_subcommand heap" -l folded -d 'Print folded stacks instead of the summary: live bytes at the peak, bytes still allocated at exit, or the number of allocations' -r -f -a "peak\t'Live bytes at the peak'
leaks\t'Bytes still allocated at exit'
allocs\t'Number of allocations made'"
complete -c rprof -n "__fish_rprof_using_subcommand heap" -l flamegraph -d 'Also write a flame graph of the live bytes at the peak' -r -F
complete -c rprof -n "__fish_rprof_using_subcommand heap" -l chart -d 'Also write a chart of the heap over time, stacked by the top allocation sites' -r -F
complete -c rprof -n "__fish_rprof_using_subcommand heap" -l top -d 'How many sites each part of the summary lists' -r
complete -c rprof -n "__fish_rprof_using_subcommand heap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand heap" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand convert" -s i -l input -d 'The input, as perf\'s `-i FILE` (the same as INPUT)' -r
complete -c rprof -n "__fish_rprof_using_subcommand convert" -s o -l output -d 'The file to write (`-`: standard output)' -r
complete -c rprof -n "__fish_rprof_using_subcommand convert" -l to -d 'Output format (default: pprof for a name ending in `.pb.gz`/`.pprof`, folded for `.folded`, else an rprof data file)' -r -f -a "rprof\t'rprof\'s own data file'
pprof\t'Gzipped pprof (`profile.proto`)'
folded\t'Folded stacks (`a;b;c WEIGHT` lines)'"
complete -c rprof -n "__fish_rprof_using_subcommand convert" -l sample-index -d 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)' -r
complete -c rprof -n "__fish_rprof_using_subcommand convert" -l event -d 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read (default: the first present). `cycles` also finds `cycles:u`' -r
complete -c rprof -n "__fish_rprof_using_subcommand convert" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand convert" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand list" -s h -l help -d 'Print help'
complete -c rprof -n "__fish_rprof_using_subcommand list" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rprof -n "__fish_rprof_using_subcommand completions" -s V -l version -d 'Print version'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "record" -d 'Sample call stacks of a process or command into a data file (default rprof.data)'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "report" -d 'Show the hot functions, self and total, from any stack source'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "flamegraph" -d 'Render a flame graph (SVG) from any stack source, or record and render in one go'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "diff" -d 'Compare two profiles: differential flame graph and a table of what changed'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "strace-summary" -d 'Summarise system calls like `strace -c`, from perf tracepoints or ptrace'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "massif" -d 'Analyse a heap profile from valgrind\'s massif, or run massif on a command'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "heap" -d 'Profile a command\'s heap natively (no valgrind): peak, leaks, busiest and temporary allocation sites, with stacks; massif, pprof and folded output'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "convert" -d 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "list" -d 'List the events this machine can record with `record -e`, grouped like `perf list`'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout'
complete -c rprof -n "__fish_rprof_using_subcommand help; and not __fish_seen_subcommand_from record report flamegraph diff strace-summary massif heap convert list completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
