// Command argocd-lua runs an Argo CD health.lua script under gopher-lua, the Lua 5.1 VM Argo CD
// embeds, set up the way Argo CD runs a health check from `resource.customizations.health.*`
// in argocd-cm (useOpenLibs unset): only the package, base and table libraries (no string,
// math or io; Argo CD adds a restricted os library, which schemagate's scripts do not use), the
// object as the global `obj` (JSON objects and arrays as tables, numbers as Lua numbers, null as
// nil), and a 1 s time limit. The returned table goes through JSON, as in Argo CD, and a status
// Argo CD does not know becomes Unknown.
//
// Usage: argocd-lua [-open-libs] SCRIPT < object.json
// Prints {"status": ..., "message": ...}; exits 1 with the Lua error on stderr when the script
// fails or does not return a table.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
)

type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

var known = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

func main() {
	openLibs := flag.Bool("open-libs", false, "open every standard library (Argo CD's useOpenLibs: true)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua [-open-libs] SCRIPT < object.json")
		os.Exit(2)
	}
	hs, err := run(flag.Arg(0), os.Stdin, *openLibs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := json.Marshal(hs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func run(scriptPath string, input io.Reader, openLibs bool) (*healthStatus, error) {
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		return nil, err
	}
	var obj any
	if err := json.NewDecoder(input).Decode(&obj); err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: !openLibs})
	defer l.Close()
	if !openLibs {
		for name, open := range map[string]lua.LGFunction{
			lua.LoadLibName: lua.OpenPackage,
			lua.BaseLibName: lua.OpenBase,
			lua.TabLibName:  lua.OpenTable,
		} {
			if err := l.CallByParam(lua.P{Fn: l.NewFunction(open), NRet: 0, Protect: true}, lua.LString(name)); err != nil {
				return nil, err
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(string(script)); err != nil {
		return nil, err
	}
	ret := l.Get(-1)
	if ret.Type() != lua.LTTable {
		return nil, fmt.Errorf("expect table output from Lua script, not %s", ret.Type())
	}
	encoded, err := luajson.Encode(ret)
	if err != nil {
		return nil, err
	}
	hs := &healthStatus{}
	if err := json.Unmarshal(encoded, hs); err != nil {
		return nil, err
	}
	if !known[hs.Status] {
		return &healthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return hs, nil
}

func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	}
	return lua.LNil
}
