// Package chdb runs ClickHouse 26.7 from libchdb, the ClickHouse engine
// built as a library, loaded at run time without cgo. Called the way
// clickhouse-local is called, with SYSTEM START LISTEN, it serves the
// native protocol and HTTP on real ports: chdb/server wraps that into the
// ClickHouse server the project's tests, demo and benchmarks run.
//
// libchdb allows one engine per process, so each server is a process.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

var (
	loadOnce sync.Once
	loadErr  error

	queryCmdline  func(argc int32, argv unsafe.Pointer) unsafe.Pointer
	resultError   func(res unsafe.Pointer) *byte
	destroyResult func(res unsafe.Pointer)
)

// load opens the library at CHDB_LIB_PATH (scripts/fetch-chdb.sh prints
// it) once.
func load() error {
	loadOnce.Do(func() {
		lib := os.Getenv("CHDB_LIB_PATH")
		if lib == "" {
			loadErr = errors.New("CHDB_LIB_PATH is not set (scripts/fetch-chdb.sh prints it)")
			return
		}
		h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			loadErr = fmt.Errorf("load %s: %w", lib, err)
			return
		}
		purego.RegisterLibFunc(&queryCmdline, h, "chdb_query_cmdline")
		purego.RegisterLibFunc(&resultError, h, "chdb_result_error")
		purego.RegisterLibFunc(&destroyResult, h, "chdb_destroy_query_result")
	})
	return loadErr
}

// RunLocal runs clickhouse-local with the arguments (without the program
// name) and returns once it ends; the error is the engine's own message.
// With --query "SYSTEM START LISTEN TCP; ..." it serves while the last
// query runs.
func RunLocal(args ...string) error {
	if err := load(); err != nil {
		return err
	}
	all := append([]string{"clickhouse"}, args...)
	cargs := make([][]byte, len(all))
	argv := make([]*byte, len(all)+1)
	for i, a := range all {
		cargs[i] = append([]byte(a), 0)
		argv[i] = &cargs[i][0]
	}
	res := queryCmdline(int32(len(all)), unsafe.Pointer(&argv[0]))
	if res == nil {
		return errors.New("chdb_query_cmdline returned no result")
	}
	defer destroyResult(res)
	if e := resultError(res); e != nil {
		if msg := cString(e); msg != "" {
			return errors.New(msg)
		}
	}
	return nil
}

func cString(p *byte) string {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
