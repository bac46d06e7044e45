package jwtguard

import (
	"reflect"
	"testing"
)

// TestAnchorConfigEqualSeesEveryField: equal is a hand-kept list, so this
// test sets each field of anchorConfig in turn and wants equal to notice.
// A new field that equal forgets would let a resolver's changed answer keep
// the old anchor (its keys, its cached tokens).
func TestAnchorConfigEqualSeesEveryField(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[anchorConfig]()
	for i := range typ.NumField() {
		var a, b anchorConfig
		f := reflect.ValueOf(&b).Elem().Field(i)
		f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem() // unexported fields
		switch f.Kind() {
		case reflect.Slice:
			s := reflect.MakeSlice(f.Type(), 1, 1)
			if e := s.Index(0); e.Kind() == reflect.Pointer {
				e.Set(reflect.New(e.Type().Elem()))
			} else {
				e.SetString("x")
			}
			f.Set(s)
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int64:
			f.SetInt(1)
		default:
			t.Fatalf("field %s has kind %s: teach this test to set it", typ.Field(i).Name, f.Kind())
		}
		if a.equal(&b) || b.equal(&a) {
			t.Errorf("anchorConfig.equal ignores field %s: add it there", typ.Field(i).Name)
		}
	}
}
