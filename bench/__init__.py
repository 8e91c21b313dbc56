"""`make bench`: throughput and latency figures of the whole system on this machine."""
