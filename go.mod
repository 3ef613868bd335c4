module github.com/localstorm/localstorm

go 1.26.8
