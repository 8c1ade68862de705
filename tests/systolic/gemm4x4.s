# A 6x4 by 4x4 matrix product on a 4x4 array, int8 in, int32 out.
# DRAM: A (6 rows of 4 int8) at 0x0, B (4 rows of 4 int8) at 0x100, the result (6 rows of
# 4 int32) at 0x200. Run with: lathe sim gemm4x4.s --array 4x4 --latency 10 --bw 4 ...
config.compute type=i8
config.load stride=4 limit=16
load to=sp row=0 dram=0x100 rows=4 cols=4 type=i8 signal=compute   # B: the weights
config.load stride=4 limit=24
load to=sp row=8 dram=0x0 rows=6 cols=4 type=i8 signal=compute     # A: the inputs
loadw row=0 rows=4 cols=4 wait=load
matmul in=8 acc=0 rows=6 mode=set weights=new wait=load signal=store
config.store stride=4 type=i32
store acc=0 dram=0x200 rows=6 cols=4 wait=compute
halt
