"""Power logs from elsewhere (nvidia-smi, DCGM, Prometheus, amd-smi, rocm-smi, our own columns)."""
