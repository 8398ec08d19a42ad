"""python launch.py: start OmniVec Explorer, as the console script `omnivec-app` does; --help lists the options."""
import sys

from omnivec_app.launch import main

if __name__ == "__main__":
    sys.exit(main())
