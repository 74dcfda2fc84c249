"""A workflow's run folder written from its result: the P2E report and set files, the re-sync
collection folders and summary, the nightly reports. The rules (p2e/, resync/, nightly/) return
frames and plans; these modules put them in files (through write/), the services call them."""
