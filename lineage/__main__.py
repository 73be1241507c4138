from lineage.cli import entry

entry()
