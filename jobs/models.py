"""Job, Run and Target models arrive with the job-manager issue."""
