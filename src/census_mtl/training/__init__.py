"""Training: device choice, the multi-task loss, tensors in memory and a resumable loop."""
