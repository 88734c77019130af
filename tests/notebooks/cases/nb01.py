"""01 Redis state store."""

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "01_redis_state_store"
CASES = [
    (ROOT, {"dapr_runtime": "local"}, {"orders": 3, "persistence_off_keys_left": 0, "aof_keys_left": 3}),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "app_id": "shop", "order_count": 5, "ttl_seconds": 10},
     {"orders": 5, "persistence_off_keys_left": 0, "aof_keys_left": 5}),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "app_id": "Orders_App",
    "order_count": -1,
    "ttl_seconds": 0,
}
