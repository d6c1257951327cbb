// Server reflection from the descriptors protobuf-es already holds, so grpcurl sees exactly the compiled API
// (proto-loader's re-derived descriptors break map fields and well-known-type references for reflection clients).
import { toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { file_grpc_health_v1_health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import type { ServedService } from "./handlers.js";

export function addReflection(server: grpc.Server, served: ServedService[]): void {
  const files = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (files.has(f.name)) return;
    files.set(f.name, f);
    f.dependencies.forEach(visit);
  };
  for (const s of served) visit(s.service.file);
  visit(file_grpc_health_v1_health);
  const fileDescriptorProtos = [...files.values()].map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
  // ReflectionService reads only fileDescriptorProtos from its "package definition".
  new ReflectionService({ all: { fileDescriptorProtos } } as never).addToServer(server);
}
