import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the app on :5173 and forwards the API and the streams to a running
// `signaldesk serve` (SIGNALDESK_ALLOWED_ORIGINS=http://localhost:5173 for the WebSockets).
const backend = process.env.SIGNALDESK_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
  server: { proxy: { "/api": { target: backend, ws: true } } },
});
