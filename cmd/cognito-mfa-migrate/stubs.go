package main

import "errors"

type exportCmd struct{}

func (exportCmd) Run(a *app) error { return errors.New("not yet") }

type statusCmd struct{}

func (statusCmd) Run(a *app) error { return errors.New("not yet") }

type reportCmd struct{}

func (reportCmd) Run(a *app) error { return errors.New("not yet") }

type demoCmd struct{}

func (demoCmd) Run(a *app) error { return errors.New("not yet") }
