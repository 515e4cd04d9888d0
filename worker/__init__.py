"""RQ jobs (ids in, one app context per job) and the outbound channels."""
