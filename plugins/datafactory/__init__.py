"""datafactory: declarative specs in, quality-checked and reviewed data products out."""
