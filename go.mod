module medqa

go 1.26
