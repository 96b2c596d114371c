
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'rprof' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'rprof'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'rprof' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Sample call stacks of a process or command into a data file (default rprof.data)')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Show the hot functions, self and total, from any stack source')
            [CompletionResult]::new('flamegraph', 'flamegraph', [CompletionResultType]::ParameterValue, 'Render a flame graph (SVG) from any stack source, or record and render in one go')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Compare two profiles: differential flame graph and a table of what changed')
            [CompletionResult]::new('strace-summary', 'strace-summary', [CompletionResultType]::ParameterValue, 'Summarise system calls like `strace -c`, from perf tracepoints or ptrace')
            [CompletionResult]::new('massif', 'massif', [CompletionResultType]::ParameterValue, 'Analyse a heap profile from valgrind''s massif, or run massif on a command')
            [CompletionResult]::new('heap', 'heap', [CompletionResultType]::ParameterValue, 'Profile a command''s heap natively (no valgrind): peak, leaks, busiest and temporary allocation sites, with stacks; massif, pprof and folded output')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the events this machine can record with `record -e`, grouped like `perf list`')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rprof;record' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Attach to these processes (comma-separated), every thread, including threads and children created later')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Attach to these processes (comma-separated), every thread, including threads and children created later')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Only these CPUs, in perf''s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them')
            [CompletionResult]::new('--cpu', '--cpu', [CompletionResultType]::ParameterName, 'Only these CPUs, in perf''s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf''s -u)')
            [CompletionResult]::new('--uid', '--uid', [CompletionResultType]::ParameterName, 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf''s -u)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Stop after this many seconds (default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this many seconds (default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Sampling frequency in Hz')
            [CompletionResult]::new('--freq', '--freq', [CompletionResultType]::ParameterName, 'Sampling frequency in Hz')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Events to sample, perf''s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as ''sched:sched_wak*'' for every match). perf''s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Events to sample, perf''s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as ''sched:sched_wak*'' for every match). perf''s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock')
            [CompletionResult]::new('--call-graph', '--call-graph', [CompletionResultType]::ParameterName, 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers), or lbr (user stacks from the CPU''s last branch record, on Intel CPUs that have one)')
            [CompletionResult]::new('--min-block', '--min-block', [CompletionResultType]::ParameterName, 'Off-CPU and wall-clock modes: waits shorter than this (e.g. 100us, 1ms) keep no stack; each thread''s are summed under one `[off-cpu: short waits]` frame')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Sample only these threads (comma-separated tids)')
            [CompletionResult]::new('--tid', '--tid', [CompletionResultType]::ParameterName, 'Sample only these threads (comma-separated tids)')
            [CompletionResult]::new('--push', '--push', [CompletionResultType]::ParameterName, 'Upload pprof profiles to this Pyroscope or Parca server (base URL, e.g. http://localhost:4040)')
            [CompletionResult]::new('--push-format', '--push-format', [CompletionResultType]::ParameterName, 'The server''s API')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'Application name the profiles are stored under (default: the command''s or process''s name)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A label attached to every uploaded profile (repeatable)')
            [CompletionResult]::new('--push-queue', '--push-queue', [CompletionResultType]::ParameterName, 'Most unsent intervals kept while the server is unreachable (older ones are dropped and counted)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'With --push: the length of each uploaded profile (`15s`, `500ms`, `1m`, or seconds)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Data file to write; an existing one is kept as FILE.old')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Data file to write; an existing one is kept as FILE.old')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Sample the whole system (every CPU, every process)')
            [CompletionResult]::new('--all-cpus', '--all-cpus', [CompletionResultType]::ParameterName, 'Sample the whole system (every CPU, every process)')
            [CompletionResult]::new('--no-kernel', '--no-kernel', [CompletionResultType]::ParameterName, 'Sample user stacks only (by default kernel frames are included when permitted)')
            [CompletionResult]::new('--off-cpu', '--off-cpu', [CompletionResultType]::ParameterName, 'Off-CPU profile: for every context switch away from a target thread, the stack where it blocked (kernel and user) weighted by the ns until it ran again, with an `[off-cpu: S|D|...]` leaf giving the thread state. Runnable waits for a CPU are left out (the wall-clock mode keeps them). Uses the sched:sched_switch tracepoint; no BPF needed')
            [CompletionResult]::new('--wall', '--wall', [CompletionResultType]::ParameterName, 'Wall-clock profile: on-CPU cpu-clock samples and all off-CPU time (runqueue waits included, as `[off-cpu: R]`) in one profile, both in ns, so each thread''s shares are of its wall-clock time')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'Frame-pointer call graphs, as perf''s -g (the same as --call-graph fp)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;report' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Group rows by these keys, comma-separated (`--sort module,function`, as perf''s --sort): function (unsymbolized addresses of a module as one `module+?` row), module, thread, line (file:line where known), address (one row per code address), pid, comm, cpu (the CPU samples ran on, for rprof recordings). perf''s names (sym, dso, srcline, tid) work too')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N rows (with --callers, --callees, --list: N functions)')
            [CompletionResult]::new('--percent-limit', '--percent-limit', [CompletionResultType]::ParameterName, 'Hide rows whose Total (Self with --no-children) is below P percent; with --tree, nodes below P percent of the whole')
            [CompletionResult]::new('--callers', '--callers', [CompletionResultType]::ParameterName, 'For each function matching REGEX: its callers with the weight through each edge, and its Total and Self (pprof''s -peek, perf''s caller graph)')
            [CompletionResult]::new('--callees', '--callees', [CompletionResultType]::ParameterName, 'For each function matching REGEX: its callees with the weight through each edge; given with the same REGEX as callers, both are shown around the function')
            [CompletionResult]::new('--depth', '--depth', [CompletionResultType]::ParameterName, 'With --tree: show at most N levels')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'The source of each function matching REGEX with Self and Total per line (pprof''s -list), read from the file the debug info names')
            [CompletionResult]::new('--focus', '--focus', [CompletionResultType]::ParameterName, 'Keep only samples with a function matching REGEX anywhere on the stack (pprof''s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Drop samples with a function matching REGEX anywhere on the stack (pprof''s -ignore)')
            [CompletionResult]::new('--hide', '--hide', [CompletionResultType]::ParameterName, 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof''s -hide). A sample left with no frame is dropped')
            [CompletionResult]::new('--tid', '--tid', [CompletionResultType]::ParameterName, 'Only samples of these threads (comma-separated tids)')
            [CompletionResult]::new('--comm', '--comm', [CompletionResultType]::ParameterName, 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf''s --comms)')
            [CompletionResult]::new('--module', '--module', [CompletionResultType]::ParameterName, 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf''s --dsos)')
            [CompletionResult]::new('--time', '--time', [CompletionResultType]::ParameterName, 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only samples of these processes (comma-separated pids)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'For massif input: the snapshot to use (default: the peak)')
            [CompletionResult]::new('--sample-index', '--sample-index', [CompletionResultType]::ParameterName, 'For pprof input: the sample type to read (`cpu`, `alloc_space`, `inuse_space`, … or an index; default: the profile''s default type, else its last, as `go tool pprof` does)')
            [CompletionResult]::new('--push', '--push', [CompletionResultType]::ParameterName, 'Upload pprof profiles to this Pyroscope or Parca server (base URL, e.g. http://localhost:4040)')
            [CompletionResult]::new('--push-format', '--push-format', [CompletionResultType]::ParameterName, 'The server''s API')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'Application name the profiles are stored under (default: the command''s or process''s name)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A label attached to every uploaded profile (repeatable)')
            [CompletionResult]::new('--push-queue', '--push-queue', [CompletionResultType]::ParameterName, 'Most unsent intervals kept while the server is unreachable (older ones are dropped and counted)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the report to FILE instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the report to FILE instead of stdout')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read (default: the first present). `cycles` also finds `cycles:u`')
            [CompletionResult]::new('--no-children', '--no-children', [CompletionResultType]::ParameterName, 'Self only, ordered by it (perf''s default without -g): rows that never ran themselves are left out')
            [CompletionResult]::new('--tree', '--tree', [CompletionResultType]::ParameterName, 'The call tree from the roots, indented, with Total and Self per node; pruned by the percent limit and the depth, bottom-up when inverted')
            [CompletionResult]::new('--inverted', '--inverted', [CompletionResultType]::ParameterName, 'With --tree: from the innermost frames out to their callers (bottom-up)')
            [CompletionResult]::new('--collapse-recursion', '--collapse-recursion', [CompletionResultType]::ParameterName, 'Merge directly recursive calls of a function into one frame')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;flamegraph' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the SVG (or folded text with --folded); `-` for stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the SVG (or folded text with --folded); `-` for stdout')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the graph (default: "Flame Graph"; "Icicle Graph" when inverted, "Flame Chart" or "Icicle Chart" for a flame chart)')
            [CompletionResult]::new('--subtitle', '--subtitle', [CompletionResultType]::ParameterName, 'Subtitle under the title (default: the target and sample count)')
            [CompletionResult]::new('--colors', '--colors', [CompletionResultType]::ParameterName, 'Colour palette: hot, mem, io, wakeup, java, js, perl, python, rust, red, green, blue, aqua, yellow, purple, orange')
            [CompletionResult]::new('--minwidth', '--minwidth', [CompletionResultType]::ParameterName, 'Omit frames narrower than this many pixels')
            [CompletionResult]::new('--width', '--width', [CompletionResultType]::ParameterName, 'Width of the image in pixels')
            [CompletionResult]::new('--focus', '--focus', [CompletionResultType]::ParameterName, 'Keep only samples with a function matching REGEX anywhere on the stack (pprof''s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Drop samples with a function matching REGEX anywhere on the stack (pprof''s -ignore)')
            [CompletionResult]::new('--hide', '--hide', [CompletionResultType]::ParameterName, 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof''s -hide). A sample left with no frame is dropped')
            [CompletionResult]::new('--tid', '--tid', [CompletionResultType]::ParameterName, 'Only samples of these threads (comma-separated tids)')
            [CompletionResult]::new('--comm', '--comm', [CompletionResultType]::ParameterName, 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf''s --comms)')
            [CompletionResult]::new('--module', '--module', [CompletionResultType]::ParameterName, 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf''s --dsos)')
            [CompletionResult]::new('--time', '--time', [CompletionResultType]::ParameterName, 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)')
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'For massif input: the snapshot to draw (default: the peak)')
            [CompletionResult]::new('--sample-index', '--sample-index', [CompletionResultType]::ParameterName, 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Attach to these processes (comma-separated), every thread, including threads and children created later')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Attach to these processes (comma-separated), every thread, including threads and children created later')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Only these CPUs, in perf''s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them')
            [CompletionResult]::new('--cpu', '--cpu', [CompletionResultType]::ParameterName, 'Only these CPUs, in perf''s list syntax (`0-3,5`): with -a or alone, every process on them; with a command or -p, the target only while it runs on them')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf''s -u)')
            [CompletionResult]::new('--uid', '--uid', [CompletionResultType]::ParameterName, 'Every process of this user (name or uid) running when recording starts, with their threads and children created later (as perf''s -u)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Stop after this many seconds (default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this many seconds (default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Sampling frequency in Hz')
            [CompletionResult]::new('--freq', '--freq', [CompletionResultType]::ParameterName, 'Sampling frequency in Hz')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Sample once every COUNT events (a fixed period) instead of at a frequency; with -e page-faults, one sample per COUNT faults')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Events to sample, perf''s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as ''sched:sched_wak*'' for every match). perf''s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Events to sample, perf''s names (repeat -e or separate with commas to record several together; each view then shows one, chosen with --event): hardware (cycles, instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses, LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as ''sched:sched_wak*'' for every match). perf''s `:u` suffix (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine supports. Default: cycles when the hardware counts it, else cpu-clock')
            [CompletionResult]::new('--call-graph', '--call-graph', [CompletionResultType]::ParameterName, 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers), or lbr (user stacks from the CPU''s last branch record, on Intel CPUs that have one)')
            [CompletionResult]::new('--min-block', '--min-block', [CompletionResultType]::ParameterName, 'Off-CPU and wall-clock modes: waits shorter than this (e.g. 100us, 1ms) keep no stack; each thread''s are summed under one `[off-cpu: short waits]` frame')
            [CompletionResult]::new('--inverted', '--inverted', [CompletionResultType]::ParameterName, 'Draw an icicle graph: roots at the top, growing down')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'Reverse every stack before merging, so callers sit on top of their callees')
            [CompletionResult]::new('--flamechart', '--flamechart', [CompletionResultType]::ParameterName, 'Flame chart: samples in time order instead of merged alphabetically (needs timestamps)')
            [CompletionResult]::new('--per-thread', '--per-thread', [CompletionResultType]::ParameterName, 'One root per thread (`name-tid`)')
            [CompletionResult]::new('--collapse-recursion', '--collapse-recursion', [CompletionResultType]::ParameterName, 'Merge directly recursive calls of a function into one frame')
            [CompletionResult]::new('--folded', '--folded', [CompletionResultType]::ParameterName, 'Write folded stacks instead of SVG (default output then stdout)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Sample the whole system (every CPU, every process)')
            [CompletionResult]::new('--all-cpus', '--all-cpus', [CompletionResultType]::ParameterName, 'Sample the whole system (every CPU, every process)')
            [CompletionResult]::new('--no-kernel', '--no-kernel', [CompletionResultType]::ParameterName, 'Sample user stacks only (by default kernel frames are included when permitted)')
            [CompletionResult]::new('--off-cpu', '--off-cpu', [CompletionResultType]::ParameterName, 'Off-CPU profile: for every context switch away from a target thread, the stack where it blocked (kernel and user) weighted by the ns until it ran again, with an `[off-cpu: S|D|...]` leaf giving the thread state. Runnable waits for a CPU are left out (the wall-clock mode keeps them). Uses the sched:sched_switch tracepoint; no BPF needed')
            [CompletionResult]::new('--wall', '--wall', [CompletionResultType]::ParameterName, 'Wall-clock profile: on-CPU cpu-clock samples and all off-CPU time (runqueue waits included, as `[off-cpu: R]`) in one profile, both in ns, so each thread''s shares are of its wall-clock time')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'Frame-pointer call graphs, as perf''s -g (the same as --call-graph fp)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;diff' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'An input, as perf''s `-i FILE`: given twice, BEFORE then AFTER; given once, BEFORE (and the one positional input is AFTER)')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'An input, as perf''s `-i FILE`: given twice, BEFORE then AFTER; given once, BEFORE (and the one positional input is AFTER)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the differential flame graph')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the differential flame graph')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N rows per table')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Format of the change table on stdout')
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'For massif inputs: the snapshot to compare (default: each file''s peak)')
            [CompletionResult]::new('--sample-index', '--sample-index', [CompletionResultType]::ParameterName, 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read from each (default: the first present). `cycles` also finds `cycles:u`')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'Title of the graph')
            [CompletionResult]::new('--width', '--width', [CompletionResultType]::ParameterName, 'Which weight sets a frame''s width in the graph; the colour always shows the change. `max` (the default) keeps every stack of either input visible; `after` (inferno''s choice) hides what vanished, `before` hides what is new')
            [CompletionResult]::new('--focus', '--focus', [CompletionResultType]::ParameterName, 'Keep only samples with a function matching REGEX anywhere on the stack (pprof''s -focus). The filters run in this order: time, pid, tid, comm, module, focus, ignore, hide, collapse-recursion')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Drop samples with a function matching REGEX anywhere on the stack (pprof''s -ignore)')
            [CompletionResult]::new('--hide', '--hide', [CompletionResultType]::ParameterName, 'Remove frames whose function matches REGEX from the stacks, keeping the samples (their weight moves to the caller; pprof''s -hide). A sample left with no frame is dropped')
            [CompletionResult]::new('--tid', '--tid', [CompletionResultType]::ParameterName, 'Only samples of these threads (comma-separated tids)')
            [CompletionResult]::new('--comm', '--comm', [CompletionResultType]::ParameterName, 'Only samples of threads or processes with one of these command names (comma-separated, exact, as perf''s --comms)')
            [CompletionResult]::new('--module', '--module', [CompletionResultType]::ParameterName, 'Only samples whose innermost frame is in a module (executable or library) whose path or file name matches REGEX (as perf''s --dsos)')
            [CompletionResult]::new('--time', '--time', [CompletionResultType]::ParameterName, 'Only samples taken FROM..TO seconds after the start of the recording (either end may be left out: `2..`, `..0.5`); needs an input with timestamps (rprof data, perf.data, perf script)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only samples of these processes (comma-separated pids)')
            [CompletionResult]::new('--no-normalize', '--no-normalize', [CompletionResultType]::ParameterName, 'Compare raw weights instead of scaling BEFORE to AFTER''s total (the default for heap profiles, whose bytes are absolute amounts)')
            [CompletionResult]::new('--normalize', '--normalize', [CompletionResultType]::ParameterName, 'Scale BEFORE''s weights to AFTER''s total before comparing (the default, except for two heap profiles in bytes); the factor is printed')
            [CompletionResult]::new('--negate', '--negate', [CompletionResultType]::ParameterName, 'Swap the colours: red for what shrank, blue for what grew')
            [CompletionResult]::new('--allow-mismatch', '--allow-mismatch', [CompletionResultType]::ParameterName, 'Compare inputs of different events or weight units (cpu-clock against page-faults, ns against samples) with a warning instead of refusing: only the shares then mean something')
            [CompletionResult]::new('--collapse-recursion', '--collapse-recursion', [CompletionResultType]::ParameterName, 'Merge directly recursive calls of a function into one frame')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;strace-summary' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Trace these running processes (every thread, later threads and forked children)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Trace these running processes (every thread, later threads and forked children)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Stop after this many seconds: attached targets run on untraced; a launched command gets SIGTERM and is traced until it exits (as `record -d` does)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this many seconds: attached targets run on untraced; a launched command gets SIGTERM and is traced until it exits (as `record -d` does)')
            [CompletionResult]::new('-S', '-S ', [CompletionResultType]::ParameterName, 'Sort rows by this column')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort rows by this column')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the summary to FILE instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the summary to FILE instead of stdout')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Tracing backend')
            [CompletionResult]::new('--from-log', '--from-log', [CompletionResultType]::ParameterName, 'Summarise an existing `strace -f -T` log instead of tracing (`-` reads standard input)')
            [CompletionResult]::new('--per-thread', '--per-thread', [CompletionResultType]::ParameterName, 'One table per thread, with its name')
            [CompletionResult]::new('--per-process', '--per-process', [CompletionResultType]::ParameterName, 'One table per process')
            [CompletionResult]::new('--errors', '--errors', [CompletionResultType]::ParameterName, 'List the error codes of each failing syscall (`ENOENT ×12`)')
            [CompletionResult]::new('--counts-only', '--counts-only', [CompletionResultType]::ParameterName, 'Only count calls and errors (no latencies): the lowest overhead')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;massif' {
            [CompletionResult]::new('--valgrind-arg', '--valgrind-arg', [CompletionResultType]::ParameterName, 'Extra argument for valgrind when running a command (repeatable), e.g. `--valgrind-arg=--pages-as-heap=yes`')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Where to keep massif''s output when running a command (default: massif.out.PID in the current directory, as valgrind names it)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Merge tree entries below this percentage of the snapshot''s total, like ms_print''s --threshold (0 to 100; a trailing % is accepted)')
            [CompletionResult]::new('--x', '--x', [CompletionResultType]::ParameterName, 'Width of the ASCII graph in columns (4 to 1000), like ms_print''s --x')
            [CompletionResult]::new('--y', '--y', [CompletionResultType]::ParameterName, 'Height of the ASCII graph in rows (4 to 1000), like ms_print''s --y')
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'Snapshot for --flamegraph and --folded (default: the peak); it must be a detailed one')
            [CompletionResult]::new('--flamegraph', '--flamegraph', [CompletionResultType]::ParameterName, 'Also write the chosen snapshot''s allocation tree as a flame graph weighted by bytes')
            [CompletionResult]::new('--chart', '--chart', [CompletionResultType]::ParameterName, 'Also write a chart of heap size over time, stacked by the top allocation sites')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'How many allocation sites the summary and the chart show')
            [CompletionResult]::new('--folded', '--folded', [CompletionResultType]::ParameterName, 'Print the chosen snapshot as folded stacks (`main;f;g BYTES`) instead of the text')
            [CompletionResult]::new('--summary-only', '--summary-only', [CompletionResultType]::ParameterName, 'Print only the summary, without ms_print''s graph, table and trees')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;heap' {
            [CompletionResult]::new('--massif', '--massif', [CompletionResultType]::ParameterName, 'Also write the heap profile in massif''s format (for ms_print, `rprof massif FILE`, massif-visualizer); time unit B (bytes allocated and freed)')
            [CompletionResult]::new('--pprof', '--pprof', [CompletionResultType]::ParameterName, 'Also write a pprof heap profile (gzipped; alloc_objects, alloc_space, inuse_objects, inuse_space, where in-use means still allocated at exit)')
            [CompletionResult]::new('--folded', '--folded', [CompletionResultType]::ParameterName, 'Print folded stacks instead of the summary: live bytes at the peak, bytes still allocated at exit, or the number of allocations')
            [CompletionResult]::new('--flamegraph', '--flamegraph', [CompletionResultType]::ParameterName, 'Also write a flame graph of the live bytes at the peak')
            [CompletionResult]::new('--chart', '--chart', [CompletionResultType]::ParameterName, 'Also write a chart of the heap over time, stacked by the top allocation sites')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'How many sites each part of the summary lists')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;convert' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The file to write (`-`: standard output)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The file to write (`-`: standard output)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Output format (default: pprof for a name ending in `.pb.gz`/`.pprof`, folded for `.folded`, else an rprof data file)')
            [CompletionResult]::new('--sample-index', '--sample-index', [CompletionResultType]::ParameterName, 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read (default: the first present). `cycles` also finds `cycles:u`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;list' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;help' {
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Sample call stacks of a process or command into a data file (default rprof.data)')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Show the hot functions, self and total, from any stack source')
            [CompletionResult]::new('flamegraph', 'flamegraph', [CompletionResultType]::ParameterValue, 'Render a flame graph (SVG) from any stack source, or record and render in one go')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Compare two profiles: differential flame graph and a table of what changed')
            [CompletionResult]::new('strace-summary', 'strace-summary', [CompletionResultType]::ParameterValue, 'Summarise system calls like `strace -c`, from perf tracepoints or ptrace')
            [CompletionResult]::new('massif', 'massif', [CompletionResultType]::ParameterValue, 'Analyse a heap profile from valgrind''s massif, or run massif on a command')
            [CompletionResult]::new('heap', 'heap', [CompletionResultType]::ParameterValue, 'Profile a command''s heap natively (no valgrind): peak, leaks, busiest and temporary allocation sites, with stacks; massif, pprof and folded output')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the events this machine can record with `record -e`, grouped like `perf list`')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rprof;help;record' {
            break
        }
        'rprof;help;report' {
            break
        }
        'rprof;help;flamegraph' {
            break
        }
        'rprof;help;diff' {
            break
        }
        'rprof;help;strace-summary' {
            break
        }
        'rprof;help;massif' {
            break
        }
        'rprof;help;heap' {
            break
        }
        'rprof;help;convert' {
            break
        }
        'rprof;help;list' {
            break
        }
        'rprof;help;completions' {
            break
        }
        'rprof;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
