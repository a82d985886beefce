from sdgcube.cli import main

main()
