package sip

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestZZScan(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/corpora/rfc4475/*.dat")
	f2, _ := filepath.Glob("/work/shared/corpora/rfc4475/rfc5118/*.dat")
	files = append(files, f2...)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		r := scanMessage(data, false)
		_, err := sipmsg.ParseMessage(data)
		fmt.Printf("%-36s kind=%d code=%d %-50q close=%v sgfail=%v sipgoerr=%v\n", filepath.Base(f), r.kind, r.code, r.reason, r.close, r.sipgoFail, err != nil)
	}
	files, _ = filepath.Glob("/tmp/protos/cases/*.sip")
	bad := 0
	flag := 0
	codes := map[int]int{}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 32768 { data = data[:32768] }
		r := scanMessage(data, false)
		_, err := sipmsg.ParseMessage(data)
		codes[r.code]++
		if err != nil && r.code == 0 {
			bad++
			fmt.Println("MISS", f, err)
		}
		if (err != nil) != r.sipgoFail {
			flag++
			if flag < 15 { fmt.Println("FLAG", f, err, r.reason) }
		}
	}
	fmt.Println("protos", len(files), "miss", bad, "flagmismatch", flag, codes)
}
