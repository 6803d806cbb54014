"""Training: the reference optimizers, distribution strategies, resumable fit, the task runner every training
program shares, and what a run leaves in its output folder (`outputs`: file names, `TaskInfo`)."""
