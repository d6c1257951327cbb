module flux-apikeys/bench/connect-load

go 1.24
