package main

type exportCmd struct{}

func (exportCmd) Run(a *app) error { return usageErr("export is not built yet") }
