package parser

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file gives []byte to the interface values of a typed decoding
// target where a JSON argument has attachments, as the msgpack codec does
// and as a *any target gets.
//
// A typed target is decoded by encoding/json from the text with each
// placeholder replaced by its attachment in base64, which is what a []byte
// field needs; an interface value receives that base64 string. Then each
// placeholder's path (the object keys and array indices leading to it) is
// followed through the decoded value, choosing struct fields, map entries
// and elements as encoding/json does, and an interface value found at its
// end still holding exactly that base64 string gets the bytes instead.
// Values that encoding/json does not reach (inside types with their own
// UnmarshalJSON or UnmarshalText, unexported fields) are left alone.

// jsonStep is one step of a path into a JSON value: an object key, or an
// array index when isIndex is set.
type jsonStep struct {
	key     string
	index   int
	isIndex bool
}

// placeholderPaths calls visit with the path to each placeholder in the
// value at b[i] and its attachment index (n attachments). A placeholder
// whose num is out of range is skipped: the decoder has refused those.
func placeholderPaths(b []byte, i, n int, path []jsonStep, depth int, visit func(path []jsonStep, k int)) {
	i = jsonSkipSpace(b, i)
	if i >= len(b) || depth > maxDepth {
		return
	}
	switch b[i] {
	case '[':
		it := jsonIter{b: b, i: i}
		for k := 0; it.next(); k++ {
			placeholderPaths(b, it.i, n, append(path, jsonStep{index: k, isIndex: true}), depth+1, visit)
			it.i = jsonSkip(b, it.i)
		}
	case '{':
		type member struct{ ks, ke, vs int }
		var members []member
		var probe placeholderProbe
		it := jsonIter{b: b, i: i}
		for it.next() {
			ks, ke, vs := it.member()
			it.i = jsonSkip(b, vs)
			probe.member(b, ks, ke, vs, it.i)
			members = append(members, member{ks, ke, vs})
		}
		if probe.is {
			if k, ok := probe.index(n); ok {
				visit(path, k)
			}
			return // socket.io-parser replaces the whole object
		}
		for _, m := range members {
			placeholderPaths(b, m.vs, n, append(path, jsonStep{key: jsonString(b[m.ks:m.ke])}), depth+1, visit)
		}
	}
}

// restoreBinary gives the attachments of r to the interface values of the
// decoded target v (a non-nil pointer) that received their base64 strings.
func (r *jsonRaw) restoreBinary(v reflect.Value) {
	atts := r.atts()
	placeholderPaths(r.text(), 0, len(atts), nil, 1, func(path []jsonStep, k int) {
		t := restoreTarget{data: atts[k], b64: base64.StdEncoding.EncodeToString(atts[k])}
		t.restore(v.Elem(), path)
	})
}

// restoreTarget is one attachment to put back.
type restoreTarget struct {
	data []byte
	b64  string
}

// restore follows path from v, which must be settable, and reports whether
// it changed anything.
func (t *restoreTarget) restore(v reflect.Value, path []jsonStep) bool {
	if len(path) == 0 {
		if v.Kind() != reflect.Interface || v.IsNil() {
			return false
		}
		if e := v.Elem(); e.Kind() != reflect.String || e.String() != t.b64 {
			return false
		}
		b := reflect.ValueOf(bytes.Clone(t.data))
		if !b.Type().AssignableTo(v.Type()) || !v.CanSet() {
			return false
		}
		v.Set(b)
		return true
	}
	step, rest := path[0], path[1:]
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return false
		}
		return t.restore(v.Elem(), path)
	case reflect.Interface:
		if v.IsNil() || !v.CanSet() {
			return false
		}
		e := reflect.New(v.Elem().Type()).Elem()
		e.Set(v.Elem())
		if !t.restore(e, path) {
			return false
		}
		v.Set(e)
		return true
	case reflect.Slice, reflect.Array:
		if !step.isIndex || step.index >= v.Len() {
			return false
		}
		return t.restore(v.Index(step.index), rest)
	case reflect.Map:
		if step.isIndex || v.IsNil() {
			return false
		}
		key, ok := mapKey(v.Type().Key(), step.key)
		if !ok {
			return false
		}
		elem := v.MapIndex(key)
		if !elem.IsValid() {
			return false
		}
		e := reflect.New(elem.Type()).Elem()
		e.Set(elem)
		if !t.restore(e, rest) {
			return false
		}
		v.SetMapIndex(key, e)
		return true
	case reflect.Struct:
		if step.isIndex {
			return false
		}
		index, ok := jsonFieldIndex(v.Type(), step.key)
		if !ok {
			return false
		}
		for _, x := range index[:len(index)-1] {
			v = v.Field(x)
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					return false
				}
				v = v.Elem()
			}
		}
		return t.restore(v.Field(index[len(index)-1]), rest)
	}
	return false
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// mapKey converts an object key into a key of type kt, as encoding/json
// does: through UnmarshalText, or as a string or an integer.
func mapKey(kt reflect.Type, s string) (reflect.Value, bool) {
	if reflect.PointerTo(kt).Implements(textUnmarshalerType) {
		k := reflect.New(kt)
		if k.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)) != nil {
			return reflect.Value{}, false
		}
		return k.Elem(), true
	}
	switch kt.Kind() {
	case reflect.String:
		return reflect.ValueOf(s).Convert(kt), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || reflect.Zero(kt).OverflowInt(n) {
			return reflect.Value{}, false
		}
		return reflect.ValueOf(n).Convert(kt), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || reflect.Zero(kt).OverflowUint(n) {
			return reflect.Value{}, false
		}
		return reflect.ValueOf(n).Convert(kt), true
	}
	return reflect.Value{}, false
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	name   string
	tagged bool  // the name comes from a json tag
	index  []int // for reflect.Value.FieldByIndex
}

// jsonFieldIndex returns the index of the field of struct type t that
// encoding/json decodes the object key into: the field of that name, or
// else the first whose name matches it without regard to case.
func jsonFieldIndex(t reflect.Type, key string) ([]int, bool) {
	fields := jsonFields(t)
	for _, f := range fields {
		if f.name == key {
			return f.index, true
		}
	}
	folded := foldName(key)
	for _, f := range fields {
		if foldName(f.name) == folded {
			return f.index, true
		}
	}
	return nil, false
}

// jsonFields lists the fields encoding/json decodes into for struct type t,
// in field order: exported fields, with those of embedded structs without a
// name tag promoted, a shallower field hiding deeper ones of the same name,
// a tagged one winning at equal depth, and ambiguous names dropped.
func jsonFields(t reflect.Type) []jsonField {
	type level struct {
		t     reflect.Type
		index []int
	}
	var fields []jsonField
	next := []level{{t: t}}
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		// How often each embedded type appears at this depth: twice or more
		// makes its fields ambiguous.
		count := map[reflect.Type]int{}
		for _, l := range current {
			count[l.t]++
		}
		for _, l := range current {
			if visited[l.t] {
				continue
			}
			visited[l.t] = true
			for k := 0; k < l.t.NumField(); k++ {
				sf := l.t.Field(k)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous {
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clone(l.index), k)
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, level{t: ft, index: index})
					continue
				}
				f := jsonField{name: name, tagged: name != "", index: index}
				if f.name == "" {
					f.name = sf.Name
				}
				fields = append(fields, f)
				if count[l.t] > 1 {
					fields = append(fields, f) // ambiguous: both copies are dropped below
				}
			}
		}
	}
	// Keep, for each name, the shallowest field; at equal depth the only
	// tagged one; otherwise none.
	slices.SortStableFunc(fields, func(a, b jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := len(a.index) - len(b.index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		if j-i == 1 || len(fields[i].index) != len(fields[i+1].index) || fields[i].tagged != fields[i+1].tagged {
			out = append(out, fields[i])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	return out
}

// validTagName reports whether name may be a json tag's field name, as
// encoding/json accepts them.
func validTagName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// foldName returns name with its letters folded, for matching keys without
// regard to case as encoding/json does.
func foldName(name string) string {
	b := make([]byte, 0, len(name))
	for _, r := range name {
		b = utf8.AppendRune(b, unicode.ToUpper(unicode.ToLower(r)))
	}
	return string(b)
}
