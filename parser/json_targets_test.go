package parser

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fieldsInner struct {
	A string
	B string `json:"b"`
	C string
}

type fieldsOther struct {
	A string
	C string `json:"C"`
	D string
}

// Deep is exported so that encoding/json may allocate it when embedded
// through a pointer.
type Deep struct {
	fieldsInner
	E string
}

type fieldsHidden struct {
	fieldsInner         // A, b and C are promoted...
	A           string  // ...but this A is shallower
	Ptr         *string `json:"ptr"`
	Skip        string  `json:"-"`
	Dash        string  `json:"-,"`
	Bad         string  `json:"a\"b"`
	unexported  string  //nolint:unused // encoding/json never sets it
	Upper       string  `json:"UPPER"`
	UpperToo    string  `json:"upper"`
	Unicode     string  `json:"ſtraße"`
}

type fieldsAmbiguous struct {
	fieldsInner // A and C collide with fieldsOther's at the same depth...
	fieldsOther // ...but C is tagged here, so this one wins
	*Deep       // E is promoted from one level further down
}

type fieldsTwice struct {
	X fieldsInner
	fieldsInner
	Y string `json:"A"` // a tagged A beats the promoted, untagged one
}

// TestJSONFieldIndex checks the field chosen for each key against what
// encoding/json itself decodes the key into.
func TestJSONFieldIndex(t *testing.T) {
	t.Parallel()
	keys := []string{"A", "a", "b", "B", "C", "c", "D", "E", "e", "ptr", "PTR", "Skip", "-", "Dash",
		"Bad", `a"b`, "unexported", "UPPER", "upper", "Upper", "ſtraße", "STRASSE", "straße", "Straße",
		"Y", "fieldsInner", "FieldsInner", "Deep"}
	for _, typ := range []reflect.Type{
		reflect.TypeFor[fieldsInner](), reflect.TypeFor[fieldsHidden](),
		reflect.TypeFor[fieldsAmbiguous](), reflect.TypeFor[fieldsTwice](), reflect.TypeFor[Deep](),
	} {
		for _, key := range keys {
			v := reflect.New(typ)
			data, err := json.Marshal(map[string]string{key: "set"})
			require.NoError(t, err)
			_ = json.Unmarshal(data, v.Interface()) // a type error still sets nothing else
			want, found := findString(v.Elem(), "set", nil)
			got, ok := jsonFieldIndex(typ, key)
			if assert.Equal(t, found, ok, "%s key %q", typ, key) && ok {
				assert.Equal(t, want, got, "%s key %q", typ, key)
			}
		}
	}
}

// findString returns the index path of the string field holding s.
func findString(v reflect.Value, s string, index []int) ([]int, bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil, false
		}
		return findString(v.Elem(), s, index)
	case reflect.String:
		return index, v.String() == s
	case reflect.Struct:
		for k := 0; k < v.NumField(); k++ {
			if got, ok := findString(v.Field(k), s, append(slices.Clone(index), k)); ok {
				return got, true
			}
		}
	}
	return nil, false
}

func TestMapKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		typ  reflect.Type
		key  string
		want any
	}{
		{reflect.TypeFor[string](), "k", "k"},
		{reflect.TypeFor[int8](), "-128", int8(-128)},
		{reflect.TypeFor[int8](), "128", nil},
		{reflect.TypeFor[uint16](), "65535", uint16(65535)},
		{reflect.TypeFor[uint16](), "-1", nil},
		{reflect.TypeFor[float64](), "1", nil},
		{reflect.TypeFor[textKey](), "abc", textKey("<abc>")},
	} {
		k, ok := mapKey(tt.typ, tt.key)
		if tt.want == nil {
			assert.False(t, ok, "%s %q", tt.typ, tt.key)
			continue
		}
		require.True(t, ok, "%s %q", tt.typ, tt.key)
		assert.Equal(t, tt.want, k.Interface())
	}
}

type textKey string

func (k *textKey) UnmarshalText(b []byte) error {
	*k = textKey("<" + string(b) + ">")
	return nil
}

func TestValidTagName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"a": true, "a-b.c": true, "ü1": true, "": false, `a"b`: false, "a,b": false, "a\\b": false} {
		assert.Equal(t, want, validTagName(name), strconv.Quote(name))
	}
}
