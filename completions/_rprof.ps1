
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
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks')
            [CompletionResult]::new('generate-assets', 'generate-assets', [CompletionResultType]::ParameterValue, 'Regenerate the shell completions and man pages (for maintainers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rprof;record' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Attach to these processes (comma-separated), every thread, including threads and children created later')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Attach to these processes (comma-separated), every thread, including threads and children created later')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Stop after this many seconds (default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this many seconds (default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Sampling frequency in Hz')
            [CompletionResult]::new('--freq', '--freq', [CompletionResultType]::ParameterName, 'Sampling frequency in Hz')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Event to sample: cycles, cpu-clock, task-clock, page-faults (default: cycles when the hardware counter opens, else cpu-clock)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Event to sample: cycles, cpu-clock, task-clock, page-faults (default: cycles when the hardware counter opens, else cpu-clock)')
            [CompletionResult]::new('--call-graph', '--call-graph', [CompletionResultType]::ParameterName, 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), or fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers)')
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
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;report' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Group rows by function (unsymbolized addresses of a module as one `module+?` row), module, thread, line (file:line where known) or address (one row per code address)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N rows')
            [CompletionResult]::new('--percent-limit', '--percent-limit', [CompletionResultType]::ParameterName, 'Hide rows whose Total is below P percent')
            [CompletionResult]::new('--tid', '--tid', [CompletionResultType]::ParameterName, 'Only samples of these threads (comma-separated tids)')
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
            [CompletionResult]::new('--focus', '--focus', [CompletionResultType]::ParameterName, 'Keep only stacks with a function matching this regex')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Drop stacks with a function matching this regex')
            [CompletionResult]::new('--tid', '--tid', [CompletionResultType]::ParameterName, 'Only samples of these threads (comma-separated tids)')
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'For massif input: the snapshot to draw (default: the peak)')
            [CompletionResult]::new('--sample-index', '--sample-index', [CompletionResultType]::ParameterName, 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Attach to these processes (comma-separated), every thread, including threads and children created later')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Attach to these processes (comma-separated), every thread, including threads and children created later')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Stop after this many seconds (default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this many seconds (default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Sampling frequency in Hz')
            [CompletionResult]::new('--freq', '--freq', [CompletionResultType]::ParameterName, 'Sampling frequency in Hz')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Event to sample: cycles, cpu-clock, task-clock, page-faults (default: cycles when the hardware counter opens, else cpu-clock)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Event to sample: cycles, cpu-clock, task-clock, page-faults (default: cycles when the hardware counter opens, else cpu-clock)')
            [CompletionResult]::new('--call-graph', '--call-graph', [CompletionResultType]::ParameterName, 'How to unwind user stacks: auto (DWARF from a copied stack, falling back to the frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of stack copied per sample, default and maximum 65528), or fp (frame-pointer chains walked by the kernel: cheapest, but truncated or wrong for code built without frame pointers)')
            [CompletionResult]::new('--inverted', '--inverted', [CompletionResultType]::ParameterName, 'Draw an icicle graph: roots at the top, growing down')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'Reverse every stack before merging, so callers sit on top of their callees')
            [CompletionResult]::new('--flamechart', '--flamechart', [CompletionResultType]::ParameterName, 'Flame chart: samples in time order instead of merged alphabetically (needs timestamps)')
            [CompletionResult]::new('--per-thread', '--per-thread', [CompletionResultType]::ParameterName, 'One root per thread (`name-tid`)')
            [CompletionResult]::new('--collapse-recursion', '--collapse-recursion', [CompletionResultType]::ParameterName, 'Merge directly recursive calls of a function into one frame')
            [CompletionResult]::new('--folded', '--folded', [CompletionResultType]::ParameterName, 'Write folded stacks instead of SVG (default output then stdout)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Sample the whole system (every CPU, every process)')
            [CompletionResult]::new('--all-cpus', '--all-cpus', [CompletionResultType]::ParameterName, 'Sample the whole system (every CPU, every process)')
            [CompletionResult]::new('--no-kernel', '--no-kernel', [CompletionResultType]::ParameterName, 'Sample user stacks only (by default kernel frames are included when permitted)')
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
            [CompletionResult]::new('--no-normalize', '--no-normalize', [CompletionResultType]::ParameterName, 'Compare raw weights instead of scaling BEFORE to AFTER''s total (the default for heap profiles, whose bytes are absolute amounts)')
            [CompletionResult]::new('--normalize', '--normalize', [CompletionResultType]::ParameterName, 'Scale BEFORE''s weights to AFTER''s total before comparing (the default, except for two heap profiles in bytes); the factor is printed')
            [CompletionResult]::new('--negate', '--negate', [CompletionResultType]::ParameterName, 'Swap the colours: red for what shrank, blue for what grew')
            [CompletionResult]::new('--allow-mismatch', '--allow-mismatch', [CompletionResultType]::ParameterName, 'Compare inputs of different events or weight units (cpu-clock against page-faults, ns against samples) with a warning instead of refusing: only the shares then mean something')
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
        'rprof;convert' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'The input, as perf''s `-i FILE` (the same as INPUT)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The rprof data file to write')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The rprof data file to write')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Output format (default: pprof for a name ending in `.pb.gz`/`.pprof`, folded for `.folded`, else an rprof data file)')
            [CompletionResult]::new('--sample-index', '--sample-index', [CompletionResultType]::ParameterName, 'For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default as `go tool pprof` chooses)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf script`): the one to read (default: the first present). `cycles` also finds `cycles:u`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'rprof;generate-assets' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory under which `completions/` and `man/` are written')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
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
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Convert any stack source (folded, `perf script`, massif, pprof, rprof data) into an rprof data file, pprof or folded stacks')
            [CompletionResult]::new('generate-assets', 'generate-assets', [CompletionResultType]::ParameterValue, 'Regenerate the shell completions and man pages (for maintainers)')
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
        'rprof;help;convert' {
            break
        }
        'rprof;help;generate-assets' {
            break
        }
        'rprof;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
