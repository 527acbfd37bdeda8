"""pyarrow side of scripts/bench-snapshot: load the table dirsnap wrote (untimed), then time
writing the same table with the same Parquet settings and reading it back."""
import json
import os
import sys
import time

import pyarrow.parquet as pq

src, dst = sys.argv[1], sys.argv[2]
table = pq.read_table(src)
t0 = time.perf_counter()
pq.write_table(table, dst, compression="snappy", row_group_size=65536)
write_s = time.perf_counter() - t0
del table
t1 = time.perf_counter()
back = pq.read_table(dst)
read_s = time.perf_counter() - t1
print(json.dumps({"rows": back.num_rows, "write_s": write_s, "read_s": read_s, "bytes": os.path.getsize(dst)}))
