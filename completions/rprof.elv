
use builtin;
use str;

set edit:completion:arg-completer[rprof] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'rprof'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'rprof'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand record 'Sample call stacks of a process or command into a data file (default rprof.data)'
            cand report 'Show the hot functions, self and total, from any stack source'
            cand flamegraph 'Render a flame graph (SVG) from any stack source, or record and render in one go'
            cand diff 'Compare two profiles: differential flame graph and a table of what changed'
            cand strace-summary 'Summarise system calls like `strace -c`, from perf tracepoints or ptrace'
            cand massif 'Analyse a heap profile from valgrind''s massif, or run massif on a command'
            cand heap 'Profile a command''s heap natively (no valgrind): peak, leaks, busiest and temporary allocation sites, with stacks; massif, pprof and folded output'
            cand convert 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks'
            cand list 'List the events this machine can record with `record -e`, grouped like `perf list`'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rprof;record'= {
            cand -p 'Attach to these processes (comma-separated), every thread, including threads and children created later'
            cand --pid 'Attach to these processes (comma-separated), every thread, including threads and children created later'
            cand -C 'Only these CPUs, in perf''s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them'
            cand --cpu 'Only these CPUs, in perf''s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them'
            cand -u 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf''s -u)'
            cand --uid 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf''s -u)'
            cand -d 'Stop after this many seconds (default: until the target exits or Ctrl-C)'
            cand --duration 'Stop after this many seconds (default: until the target exits or Ctrl-C)'
            cand -F 'Sampling frequency in Hz'
            cand --freq 'Sampling frequency in Hz'
            cand -c 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults'
            cand --count 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults'
            cand -e 'Events to sample, perf''s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as ''sched:sched_wak*'' for every match). perf''s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock'
            cand --event 'Events to sample, perf''s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as ''sched:sched_wak*'' for every match). perf''s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock'
            cand --call-graph 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers), or lbr (user stacks from the CPU''s last branch record, on Intel CPUs that have one)'
            cand --min-block 'Off-CPU and wall-clock modes: waits shorter than this (e.g. 100us, 1ms) keep no stack; each thread''s are summed under one `[off-cpu: short waits]` frame'
            cand -t 'Sample only these threads (comma-separated tids)'
            cand --tid 'Sample only these threads (comma-separated tids)'
            cand --push 'Upload pprof profiles to this Pyroscope or Parca server (base URL, e.g. http://localhost:4040)'
            cand --push-format 'The server''s API'
            cand --app 'Application name the profiles are stored under (default: the command''s or process''s name)'
            cand --label 'A label attached to every uploaded profile (repeatable)'
            cand --push-queue 'Most unsent intervals kept while the server is unreachable (older ones are dropped and counted)'
            cand --interval 'With --push: the length of each uploaded profile (`15s`, `500ms`, `1m`, or seconds)'
            cand -o 'Data file to write; an existing one is kept as FILE.old'
            cand --output 'Data file to write; an existing one is kept as FILE.old'
            cand -a 'Sample the whole system (every CPU, every process)'
            cand --all-cpus 'Sample the whole system (every CPU, every process)'
            cand --no-kernel 'Sample user stacks only (by default kernel frames are included when permitted)'
            cand --off-cpu 'Off-CPU profile: for every context switch away from a target thread, the stack where it blocked (kernel and user) weighted by the ns until it ran again, with an `[off-cpu: S|D|...]` leaf giving the thread state. Runnable waits for a CPU are left out (the wall-clock mode keeps them). Uses the sched:sched_switch tracepoint; no BPF needed'
            cand --wall 'Wall-clock profile: on-CPU cpu-clock samples and all off-CPU time (runqueue waits included, as `[off-cpu: R]`) in one profile, both in ns, so each thread''s shares are of its wall-clock time'
            cand -g 'Frame-pointer call graphs, as perf''s -g (the same as --call-graph fp)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;report'= {
            cand -i 'The input, as perf''s `-i FILE` (the same as INPUT)'
            cand --input 'The input, as perf''s `-i FILE` (the same as INPUT)'
            cand --sort 'Group rows by these keys, comma-separated (`--sort module,function`, as perf''s --sort): function (unsymbolized addresses of a module as one `module+?` row), module, thread, line (file:line where known), address (one row per code address), pid, comm, cpu (the CPU samples ran on, for rprof recordings). perf''s names (sym, dso, srcline, tid) work too'
            cand --limit 'Show at most N rows (with --callers, --callees, --list: N functions)'
            cand --percent-limit 'Hide rows whose Total (Self with --no-children) is below P percent; with --tree, nodes below P percent of the whole'
            cand --callers 'For each function matching REGEX: its callers with the weight through each edge, and its Total and Self (pprof''s -peek, perf''s caller graph)'
            cand --callees 'For each function matching REGEX: its callees with the weight through each edge; given with the same REGEX as callers, both are shown around the function'
            cand --depth 'With --tree: show at most N levels'
            cand --list 'The source of each function matching REGEX with Self and Total per line (pprof''s -list), read from the file the debug info names'
            cand --focus 'Keep only samples with a function matching REGEX anywhere on the stack (pprof''s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion'
            cand --ignore 'Drop samples with a function matching REGEX anywhere on the stack (pprof''s -ignore)'
            cand --hide 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof''s -hide). A sample left with no frame is dropped'
            cand --tid 'Only samples of these threads (comma-separated tids)'
            cand --comm 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf''s --comms)'
            cand --module 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf''s --dsos)'
            cand --time 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)'
            cand --pid 'Only samples of these processes (comma-separated pids)'
            cand --format 'Output format'
            cand --snapshot 'For massif input: the snapshot to use (default: the peak)'
            cand --sample-index 'For pprof input: the sample type to read (`cpu`, `alloc_space`, `inuse_space`, … or an index; default: the profile''s default type, else its last, as `go tool pprof` does)'
            cand --push 'Upload pprof profiles to this Pyroscope or Parca server (base URL, e.g. http://localhost:4040)'
            cand --push-format 'The server''s API'
            cand --app 'Application name the profiles are stored under (default: the command''s or process''s name)'
            cand --label 'A label attached to every uploaded profile (repeatable)'
            cand --push-queue 'Most unsent intervals kept while the server is unreachable (older ones are dropped and counted)'
            cand -o 'Write the report to FILE instead of stdout'
            cand --output 'Write the report to FILE instead of stdout'
            cand --event 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read (default: the first present). `cycles` also finds `cycles:u`'
            cand --no-children 'Self only, ordered by it (perf''s default without -g): rows that never ran themselves are left out'
            cand --tree 'The call tree from the roots, indented, with Total and Self per node; pruned by the percent limit and the depth, bottom-up when inverted'
            cand --inverted 'With --tree: from the innermost frames out to their callers (bottom-up)'
            cand --collapse-recursion 'Merge directly recursive calls of a function into one frame'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;flamegraph'= {
            cand -i 'The input, as perf''s `-i FILE` (the same as INPUT)'
            cand --input 'The input, as perf''s `-i FILE` (the same as INPUT)'
            cand -o 'Where to write the SVG (or folded text with --folded); `-` for stdout'
            cand --output 'Where to write the SVG (or folded text with --folded); `-` for stdout'
            cand --title 'Title of the graph (default: "Flame Graph"; "Icicle Graph" when inverted, "Flame Chart" or "Icicle Chart" for a flame chart)'
            cand --subtitle 'Subtitle under the title (default: the target and sample count)'
            cand --colors 'Colour palette: hot, mem, io, wakeup, java, js, perl, python, rust, red, green, blue, aqua, yellow, purple, orange'
            cand --minwidth 'Omit frames narrower than this many pixels'
            cand --width 'Width of the image in pixels'
            cand --focus 'Keep only samples with a function matching REGEX anywhere on the stack (pprof''s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion'
            cand --ignore 'Drop samples with a function matching REGEX anywhere on the stack (pprof''s -ignore)'
            cand --hide 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof''s -hide). A sample left with no frame is dropped'
            cand --tid 'Only samples of these threads (comma-separated tids)'
            cand --comm 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf''s --comms)'
            cand --module 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf''s --dsos)'
            cand --time 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)'
            cand --snapshot 'For massif input: the snapshot to draw (default: the peak)'
            cand --sample-index 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)'
            cand -p 'Attach to these processes (comma-separated), every thread, including threads and children created later'
            cand --pid 'Attach to these processes (comma-separated), every thread, including threads and children created later'
            cand -C 'Only these CPUs, in perf''s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them'
            cand --cpu 'Only these CPUs, in perf''s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them'
            cand -u 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf''s -u)'
            cand --uid 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf''s -u)'
            cand -d 'Stop after this many seconds (default: until the target exits or Ctrl-C)'
            cand --duration 'Stop after this many seconds (default: until the target exits or Ctrl-C)'
            cand -F 'Sampling frequency in Hz'
            cand --freq 'Sampling frequency in Hz'
            cand -c 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults'
            cand --count 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults'
            cand -e 'Events to sample, perf''s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as ''sched:sched_wak*'' for every match). perf''s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock'
            cand --event 'Events to sample, perf''s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as ''sched:sched_wak*'' for every match). perf''s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock'
            cand --call-graph 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers), or lbr (user stacks from the CPU''s last branch record, on Intel CPUs that have one)'
            cand --min-block 'Off-CPU and wall-clock modes: waits shorter than this (e.g. 100us, 1ms) keep no stack; each thread''s are summed under one `[off-cpu: short waits]` frame'
            cand --inverted 'Draw an icicle graph: roots at the top, growing down'
            cand --reverse 'Reverse every stack before merging, so callers sit on top of their callees'
            cand --flamechart 'Flame chart: samples in time order instead of merged alphabetically (needs timestamps)'
            cand --per-thread 'One root per thread (`name-tid`)'
            cand --collapse-recursion 'Merge directly recursive calls of a function into one frame'
            cand --folded 'Write folded stacks instead of SVG (default output then stdout)'
            cand -a 'Sample the whole system (every CPU, every process)'
            cand --all-cpus 'Sample the whole system (every CPU, every process)'
            cand --no-kernel 'Sample user stacks only (by default kernel frames are included when permitted)'
            cand --off-cpu 'Off-CPU profile: for every context switch away from a target thread, the stack where it blocked (kernel and user) weighted by the ns until it ran again, with an `[off-cpu: S|D|...]` leaf giving the thread state. Runnable waits for a CPU are left out (the wall-clock mode keeps them). Uses the sched:sched_switch tracepoint; no BPF needed'
            cand --wall 'Wall-clock profile: on-CPU cpu-clock samples and all off-CPU time (runqueue waits included, as `[off-cpu: R]`) in one profile, both in ns, so each thread''s shares are of its wall-clock time'
            cand -g 'Frame-pointer call graphs, as perf''s -g (the same as --call-graph fp)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;diff'= {
            cand -i 'An input, as perf''s `-i FILE`: given twice, BEFORE then AFTER; given once, BEFORE (and the one positional input is AFTER)'
            cand --input 'An input, as perf''s `-i FILE`: given twice, BEFORE then AFTER; given once, BEFORE (and the one positional input is AFTER)'
            cand -o 'Where to write the differential flame graph'
            cand --output 'Where to write the differential flame graph'
            cand --limit 'Show at most N rows per table'
            cand --format 'Format of the change table on stdout'
            cand --snapshot 'For massif inputs: the snapshot to compare (default: each file''s peak)'
            cand --sample-index 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)'
            cand --event 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read from each (default: the first present). `cycles` also finds `cycles:u`'
            cand --title 'Title of the graph'
            cand --width 'Which weight sets a frame''s width in the graph; the colour always shows the change. `max` (the default) keeps every stack of either input visible; `after` (inferno''s choice) hides what vanished, `before` hides what is new'
            cand --focus 'Keep only samples with a function matching REGEX anywhere on the stack (pprof''s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion'
            cand --ignore 'Drop samples with a function matching REGEX anywhere on the stack (pprof''s -ignore)'
            cand --hide 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof''s -hide). A sample left with no frame is dropped'
            cand --tid 'Only samples of these threads (comma-separated tids)'
            cand --comm 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf''s --comms)'
            cand --module 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf''s --dsos)'
            cand --time 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)'
            cand --pid 'Only samples of these processes (comma-separated pids)'
            cand --no-normalize 'Compare raw weights instead of scaling BEFORE to AFTER''s total (the default for heap profiles, whose bytes are absolute amounts)'
            cand --normalize 'Scale BEFORE''s weights to AFTER''s total before comparing (the default, except for two heap profiles in bytes); the factor is printed'
            cand --negate 'Swap the colours: red for what shrank, blue for what grew'
            cand --allow-mismatch 'Compare inputs of different events or weight units (cpu-clock against page-faults, ns against samples) with a warning instead of refusing: only the shares then mean something'
            cand --collapse-recursion 'Merge directly recursive calls of a function into one frame'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;strace-summary'= {
            cand -p 'Trace these running processes (every thread, later threads and forked children)'
            cand --pid 'Trace these running processes (every thread, later threads and forked children)'
            cand -d 'Stop after this many seconds: attached targets run on untraced; a launched command gets SIGTERM and is traced until it exits (as `record -d` does)'
            cand --duration 'Stop after this many seconds: attached targets run on untraced; a launched command gets SIGTERM and is traced until it exits (as `record -d` does)'
            cand -S 'Sort rows by this column'
            cand --sort 'Sort rows by this column'
            cand --format 'Output format'
            cand -o 'Write the summary to FILE instead of stdout'
            cand --output 'Write the summary to FILE instead of stdout'
            cand --backend 'Tracing backend'
            cand --from-log 'Summarise an existing `strace -f -T` log instead of tracing (`-` reads standard input)'
            cand --per-thread 'One table per thread, with its name'
            cand --per-process 'One table per process'
            cand --errors 'List the error codes of each failing syscall (`ENOENT ×12`)'
            cand --counts-only 'Only count calls and errors (no latencies): the lowest overhead'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;massif'= {
            cand --valgrind-arg 'Extra argument for valgrind when running a command (repeatable), e.g. `--valgrind-arg=--pages-as-heap=yes`'
            cand --keep 'Where to keep massif''s output when running a command (default: massif.out.PID in the current directory, as valgrind names it)'
            cand --threshold 'Merge tree entries below this percentage of the snapshot''s total, like ms_print''s --threshold (0 to 100; a trailing % is accepted)'
            cand --x 'Width of the ASCII graph in columns (4 to 1000), like ms_print''s --x'
            cand --y 'Height of the ASCII graph in rows (4 to 1000), like ms_print''s --y'
            cand --snapshot 'Snapshot for --flamegraph and --folded (default: the peak); it must be a detailed one'
            cand --flamegraph 'Also write the chosen snapshot''s allocation tree as a flame graph weighted by bytes'
            cand --chart 'Also write a chart of heap size over time, stacked by the top allocation sites'
            cand --format 'Output format on stdout'
            cand --top 'How many allocation sites the summary and the chart show'
            cand --folded 'Print the chosen snapshot as folded stacks (`main;f;g BYTES`) instead of the text'
            cand --summary-only 'Print only the summary, without ms_print''s graph, table and trees'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;heap'= {
            cand --massif 'Also write the heap profile in massif''s format (for ms_print, `rprof massif FILE`, massif-visualizer); time unit B (bytes allocated and freed)'
            cand --pprof 'Also write a pprof heap profile (gzipped; alloc_objects, alloc_space, inuse_objects, inuse_space, where in-use means still allocated at exit)'
            cand --folded 'Print folded stacks instead of the summary: live bytes at the peak, bytes still allocated at exit, or the number of allocations'
            cand --flamegraph 'Also write a flame graph of the live bytes at the peak'
            cand --chart 'Also write a chart of the heap over time, stacked by the top allocation sites'
            cand --top 'How many sites each part of the summary lists'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;convert'= {
            cand -i 'The input, as perf''s `-i FILE` (the same as INPUT)'
            cand --input 'The input, as perf''s `-i FILE` (the same as INPUT)'
            cand -o 'The file to write (`-`: standard output)'
            cand --output 'The file to write (`-`: standard output)'
            cand --to 'Output format (default: pprof for a name ending in `.pb.gz`/`.pprof`, folded for `.folded`, else an rprof data file)'
            cand --sample-index 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)'
            cand --event 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read (default: the first present). `cycles` also finds `cycles:u`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;list'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;completions'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'rprof;help'= {
            cand record 'Sample call stacks of a process or command into a data file (default rprof.data)'
            cand report 'Show the hot functions, self and total, from any stack source'
            cand flamegraph 'Render a flame graph (SVG) from any stack source, or record and render in one go'
            cand diff 'Compare two profiles: differential flame graph and a table of what changed'
            cand strace-summary 'Summarise system calls like `strace -c`, from perf tracepoints or ptrace'
            cand massif 'Analyse a heap profile from valgrind''s massif, or run massif on a command'
            cand heap 'Profile a command''s heap natively (no valgrind): peak, leaks, busiest and temporary allocation sites, with stacks; massif, pprof and folded output'
            cand convert 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks'
            cand list 'List the events this machine can record with `record -e`, grouped like `perf list`'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rprof;help;record'= {
        }
        &'rprof;help;report'= {
        }
        &'rprof;help;flamegraph'= {
        }
        &'rprof;help;diff'= {
        }
        &'rprof;help;strace-summary'= {
        }
        &'rprof;help;massif'= {
        }
        &'rprof;help;heap'= {
        }
        &'rprof;help;convert'= {
        }
        &'rprof;help;list'= {
        }
        &'rprof;help;completions'= {
        }
        &'rprof;help;help'= {
        }
    ]
    $completions[$command]
}
