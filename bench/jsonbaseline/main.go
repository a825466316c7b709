// Command jsonbaseline is the JSON -> CSV benchmark's baseline: a bare encoding/json loop that
// decodes every element of the JSON array written by bench/gen into a typed Go struct (what a
// hand-written program would do) and discards it. It prints the records decoded.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

type row struct {
	ID        int64   `json:"id"`
	Customer  string  `json:"customer"`
	Email     string  `json:"email"`
	Country   string  `json:"country"`
	Amount    float64 `json:"amount"`
	Quantity  int64   `json:"quantity"`
	Price     float64 `json:"price"`
	CreatedAt string  `json:"created_at"`
	Active    bool    `json:"active"`
	Note      string  `json:"note"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: jsonbaseline file.json")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	if _, err := dec.Token(); err != nil { // '['
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n := 0
	for dec.More() {
		var r row
		if err := dec.Decode(&r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		n++
	}
	fmt.Println(n)
}
