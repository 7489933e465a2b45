"""`shikumi doctor`: what this machine has for the lab, each requirement probed
for real (an overlay mounted, each namespace made, cgroups exercised, tools run)."""
