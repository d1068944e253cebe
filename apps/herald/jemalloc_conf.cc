// jemalloc settings, compiled in (jemalloc reads the `malloc_conf` symbol at start-up; the
// MALLOC_CONF environment variable still overrides it).
//
// thp:always: a UDP node keeps every server transaction for Timer J (32 s), so at 8,000
// MESSAGE/s its heap grows by ~300 MB in the first half minute. With 4 KiB pages that is
// ~75,000 page faults, and a fault costs ~15 µs in a VM: turns of 20-30 ms and a third more
// CPU while the heap grows. Transparent huge pages for the heap (the kernel's "madvise" mode
// honours jemalloc's madvise) cut that to a few hundred faults. Measured with SIPp at
// 8,000/s over UDP (bench/README.md): worker turns over 8 ms 17 -> 7, CPU 28-31 % -> 26 %.

#include <jemalloc/jemalloc.h>

extern "C" {
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
