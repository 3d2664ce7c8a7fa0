// Command speechset generates the labelled speech test set into a
// directory (default var/speechset), for listening to it or running other
// recognizers on it:
//
//	go run ./bench/speechset/cmd/speechset [-dir DIR] [-force]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"hotline/bench/speechset"
)

func main() {
	dir := flag.String("dir", "var/speechset", "output directory (WAVs, manifest.json, manifest.csv)")
	force := flag.Bool("force", false, "regenerate even when the directory holds a current set")
	flag.Parse()
	opts := speechset.Options{Log: log.Printf}
	var (
		m   *speechset.Manifest
		err error
	)
	if *force {
		m, err = speechset.Generate(context.Background(), *dir, opts)
	} else {
		m, err = speechset.Ensure(context.Background(), *dir, opts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d items in %s (manifest.json, manifest.csv)\n", len(m.Items), *dir)
}
