// Compiles the published declarations (dist/index.d.ts, through the package
// name and its exports map) the way an application with strict settings and
// skipLibCheck: false would, by `tsc -p test/tsconfig.consumer.json`.
import { connect, msgpackParser, onTransportChange, transportName, type FerrySocket } from "@ferryio/client";

interface ServerToClient {
  chat: (from: string, text: string) => void;
}
interface ClientToServer {
  chat: (text: string) => void;
}

const socket: FerrySocket<ServerToClient, ClientToServer> = connect<ServerToClient, ClientToServer>({ websocketOnly: true });
socket.on("chat", (from, text) => `${from}${text}`);
socket.emit("chat", "hi");
// @ts-expect-error chat takes a string
socket.emit("chat", 1);
const name: string | undefined = transportName(socket);
const stop: () => void = onTransportChange(socket, (now) => now);
const decoder = new msgpackParser.Decoder();
decoder.on("decoded", (packet) => packet);
export { name, stop };
