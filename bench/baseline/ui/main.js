// Tells the shell the page is interactive (the launch benchmark times spawn -> "baseline: ready").
window.__TAURI__.core.invoke("ready");
