"""`python -m gdx`: see `gdx.cli`."""

from gdx.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
