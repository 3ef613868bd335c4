package topology

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// JavaString prints v as Java's toString prints the equivalent value, as
// Storm's metrics log shows a metric's value: doubles with a fraction
// ("2.0"), maps as {k=v, ...} (keys sorted here), lists as [a, b], nil as
// null.
func JavaString(v any) string { return javaString(v, false) }

// JavaConfString prints a configuration value as Storm's command-line
// tools print what they read from YAML: as JavaString, except that a
// float64 with no fraction (how JSON and YAML integers arrive) prints as
// the integer Storm would have read.
func JavaConfString(v any) string { return javaString(v, true) }

func javaString(v any, integral bool) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case float64:
		if integral && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
		return JavaDouble(x)
	case float32:
		return JavaDouble(float64(x))
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + javaString(x[k], integral)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = javaString(e, integral)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		parts := make([]string, 0, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			parts = append(parts, javaString(it.Key().Interface(), integral)+"="+javaString(it.Value().Interface(), integral))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = javaString(rv.Index(i).Interface(), integral)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}
