"""pyarrow side of scripts/bench-snapshot: load the table dirsnap wrote (untimed), then time
writing the same table with the same Parquet settings and reading it back."""
import json
import os
import sys
import time

import pyarrow.parquet as pq

src, dst = sys.argv[1], sys.argv[2]
table = pq.read_table(src)
# CPU time (all threads) beside wall time: on a shared machine it depends less on the neighbours.
t0, c0 = time.perf_counter(), time.process_time()
pq.write_table(table, dst, compression="snappy", row_group_size=65536)
write_s, write_cpu_s = time.perf_counter() - t0, time.process_time() - c0
del table
t1, c1 = time.perf_counter(), time.process_time()
back = pq.read_table(dst)
read_s, read_cpu_s = time.perf_counter() - t1, time.process_time() - c1
print(json.dumps({"rows": back.num_rows, "write_s": write_s, "read_s": read_s,
                  "write_cpu_s": write_cpu_s, "read_cpu_s": read_cpu_s,
                  "bytes": os.path.getsize(dst)}))
