// Command trainer is medqa's model-making CLI: `go run ./trainer <verb> [flags]`.
// Each verb lives in its own cmd_<verb>.go file and registers itself in init,
// so adding a verb never touches this file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
)

type verb struct {
	summary string
	run     func(args []string) error
}

var verbs = map[string]verb{}

func register(name, summary string, run func(args []string) error) {
	if _, dup := verbs[name]; dup {
		panic("trainer: verb registered twice: " + name)
	}
	verbs[name] = verb{summary, run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: trainer <verb> [flags]\n\nverbs:")
	names := make([]string, 0, len(verbs))
	for n := range verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, verbs[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\n`trainer <verb> -h` shows a verb's flags.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	v, ok := verbs[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "trainer: unknown verb %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := v.run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the verb's flag set has printed its usage
		}
		fmt.Fprintf(os.Stderr, "trainer %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
