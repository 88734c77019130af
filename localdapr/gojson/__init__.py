"""Go's JSON reading where daprd's answers depend on it: encoding/json's scanner and Decoder into
typed structs (decode.py, scanner.py) and mapstructure (mapstructure.py)."""

from localdapr.gojson.decode import ANY, INT, STRING, GoType, Num, decode_body, deep_values, map_of, ptr_to, read_first_value, slice_of, struct, unmarshal_any
from localdapr.gojson.mapstructure import go_value_text, mapstructure_decode
from localdapr.gojson.scanner import MAX_DEPTH, GoJSONError, scan_value

__all__ = [
    "ANY", "INT", "MAX_DEPTH", "STRING", "GoJSONError", "GoType", "Num", "decode_body", "deep_values", "go_value_text", "map_of",
    "mapstructure_decode", "ptr_to", "read_first_value", "scan_value", "slice_of", "struct", "unmarshal_any",
]
