from clawgate.cli import main

main()
