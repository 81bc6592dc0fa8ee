from linclass.cli import console

console()
