// Package chdb runs SQL on libchdb, ClickHouse built as a library, loaded
// at run time without cgo. Tests use it to check what Debian's old server
// cannot: the modern DDL profile and queries on a current ClickHouse. It has
// no TCP server, so it checks schema and SQL, not the native protocol.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// DB is the process's one libchdb session (libchdb allows one per process).
type DB struct {
	mu      sync.Mutex
	conn    uintptr  // chdb_connection
	connPtr *uintptr // what chdb_connect returned, for chdb_close_conn
}

var (
	once    sync.Once
	shared  *DB
	openErr error

	chdbConnect       func(argc int32, argv unsafe.Pointer) *uintptr
	chdbQuery         func(conn uintptr, query, format string) unsafe.Pointer
	chdbResultBuffer  func(res unsafe.Pointer) *byte
	chdbResultLength  func(res unsafe.Pointer) uintptr
	chdbResultError   func(res unsafe.Pointer) *byte
	chdbDestroyResult func(res unsafe.Pointer)
	chdbCloseConn     func(conn *uintptr)
)

// Open loads the library at CHDB_LIB_PATH and starts a session whose data
// lives in dir. Later calls return the same session, whatever dir they name.
func Open(dir string) (*DB, error) { return OpenWith(dir) }

// OpenWith is Open with more clickhouse-local arguments for the session,
// such as --config-file; they apply only if this call starts the session.
func OpenWith(dir string, args ...string) (*DB, error) {
	once.Do(func() { shared, openErr = open(os.Getenv("CHDB_LIB_PATH"), dir, args) })
	return shared, openErr
}

func open(lib, dir string, extra []string) (*DB, error) {
	if lib == "" {
		return nil, errors.New("CHDB_LIB_PATH is not set (scripts/fetch-chdb.sh prints it)")
	}
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", lib, err)
	}
	purego.RegisterLibFunc(&chdbConnect, h, "chdb_connect")
	purego.RegisterLibFunc(&chdbQuery, h, "chdb_query")
	purego.RegisterLibFunc(&chdbResultBuffer, h, "chdb_result_buffer")
	purego.RegisterLibFunc(&chdbResultLength, h, "chdb_result_length")
	purego.RegisterLibFunc(&chdbResultError, h, "chdb_result_error")
	purego.RegisterLibFunc(&chdbDestroyResult, h, "chdb_destroy_query_result")
	purego.RegisterLibFunc(&chdbCloseConn, h, "chdb_close_conn")
	args := append([]string{"clickhouse", "--path=" + dir}, extra...)
	cargs := make([][]byte, len(args))
	argv := make([]*byte, len(args)+1)
	for i, a := range args {
		cargs[i] = append([]byte(a), 0)
		argv[i] = &cargs[i][0]
	}
	connPtr := chdbConnect(int32(len(args)), unsafe.Pointer(&argv[0]))
	if connPtr == nil || *connPtr == 0 {
		return nil, errors.New("chdb_connect failed")
	}
	return &DB{conn: *connPtr, connPtr: connPtr}, nil
}

// Query runs one statement and returns its output in format (JSONEachRow,
// TSV, ...); the server's error text becomes the error.
func (db *DB) Query(sql, format string) ([]byte, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	res := chdbQuery(db.conn, sql, format)
	if res == nil {
		return nil, errors.New("chdb_query returned no result")
	}
	defer chdbDestroyResult(res)
	if e := chdbResultError(res); e != nil {
		if msg := cString(e); msg != "" {
			return nil, errors.New(msg)
		}
	}
	n := chdbResultLength(res)
	if n == 0 {
		return nil, nil
	}
	return append([]byte(nil), unsafe.Slice(chdbResultBuffer(res), n)...), nil
}

func cString(p *byte) string {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// CloseShared ends the session if one was opened. Call it before the process
// exits: libchdb's own exit handlers crash when a session is still open.
func CloseShared() {
	if shared == nil {
		return
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.connPtr != nil {
		chdbCloseConn(shared.connPtr)
		shared.connPtr = nil
	}
}
