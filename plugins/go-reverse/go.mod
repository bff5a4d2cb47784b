module sluice.example/go-reverse

go 1.24
