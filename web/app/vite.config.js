// Built into the Python package, served by the server at /app/ (relative URLs: works behind a prefix).
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

export default defineConfig({
  base: "./",
  worker: { format: "es" },
  build: {
    outDir: fileURLToPath(new URL("../../sdgcube/web/dist/app", import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
});
