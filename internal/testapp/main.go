package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	mode := "serve"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var err error
	switch mode {
	case "serve":
		var a *app
		a, err = newApp(os.Getenv, time.Now, os.Exit)
		if err == nil {
			err = serve(ctx, listenAddr(), a)
		}
	case "sleep":
		ready()
		<-ctx.Done()
	case "ignore-term":
		stop()
		signal.Ignore(syscall.SIGTERM)
		ready()
		select {}
	case "probe":
		if len(os.Args) != 3 {
			err = fmt.Errorf("usage: testapp probe URL")
			break
		}
		if perr := probe(ctx, os.Args[2]); perr != nil {
			fmt.Fprintln(os.Stderr, "testapp: probe:", perr)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stdout, "testapp: probe ok")
	default:
		err = fmt.Errorf("unknown mode %q (want serve, sleep, ignore-term or probe)", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
}

// readyLine tells a watching test that signals are handled from now on: as
// PID 1 in a container, a SIGTERM that arrives earlier is simply lost.
const readyLine = "testapp: ready"

func ready() {
	fmt.Fprintln(os.Stdout, readyLine)
}

func listenAddr() string {
	if p := os.Getenv("PORT"); p != "" {
		return ":" + p
	}
	return ":8080"
}
