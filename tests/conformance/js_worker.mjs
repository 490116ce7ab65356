// Camunda's JavaScript external-task client against Tongban: completes every task of a topic, then exits.
// node js_worker.mjs CLIENT_DIR BASE_URL USERNAME TOKEN TOPIC COUNT
import path from "node:path";
import { pathToFileURL } from "node:url";

const [clientDir, baseUrl, username, token, topic, count] = process.argv.slice(2);
const { Client, BasicAuthInterceptor, Variables } = await import(pathToFileURL(path.join(clientDir, "index.js")));
const client = new Client({
  baseUrl, workerId: "js-worker", asyncResponseTimeout: 1000, maxTasks: 5, interval: 50,
  interceptors: new BasicAuthInterceptor({ username, password: token }),
});
let done = 0;
const failures = [];
client.on("complete:error", (task, error) => failures.push(String(error)));
client.on("poll:error", (error) => failures.push(String(error)));
client.subscribe(topic, async ({ task, taskService }) => {
  const applicant = task.variables.get("applicant");
  const variables = new Variables().set("licence_no", `JS-${applicant}`).setTyped("meta", {
    type: "json", value: { by: "js", steps: [1, 2] }, valueInfo: {} });
  await taskService.complete(task, variables);
  done += 1;
});
const deadline = Date.now() + 30000;
while (done < Number(count) && Date.now() < deadline && failures.length === 0) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
client.stop();
console.log(JSON.stringify({ done, failures }));
process.exit(done === Number(count) && failures.length === 0 ? 0 : 1);
