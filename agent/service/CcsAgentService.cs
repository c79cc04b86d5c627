// CcsAgentService: runs the CCS agent (node) as a Windows service.
//
// Compiled on the server by agent/install.ps1 with the C# compiler of the .NET Framework that every
// Windows Server ships (csc.exe, C# 5: no newer syntax here). It speaks the service control
// protocol (ServiceBase) and:
//   - starts node with the agent's arguments, in a Job Object that kills the agent (and any
//     PowerShell it started) if this wrapper dies;
//   - writes the agent's stdout/stderr lines to <logs>\agent.log, rotated by size
//     (agent.1.log ... agent.N.log);
//   - writes lifecycle events, and the agent's error/warn lines (rate-limited), to the Windows
//     Application event log under the source named like the service;
//   - on Stop, Pre-shutdown and Shutdown sends Ctrl+C to the agent (node's SIGINT: it finishes the
//     message in hand) and kills it after a grace period. It registers for SERVICE_CONTROL_PRESHUTDOWN
//     (SERVICE_ACCEPT_PRESHUTDOWN, learn.microsoft.com "HandlerEx"): Windows then waits for the stop
//     before shutting down (up to the pre-shutdown timeout, 3 minutes by default), whereas a plain
//     SERVICE_CONTROL_SHUTDOWN gives a service only a few seconds. .NET Framework's ServiceBase has
//     no property for it, so the flag is added to its accepted commands and the control arrives as
//     a custom command;
//   - when the agent exits on its own, exits with code 1 so that the Service Control Manager's
//     recovery actions (install.ps1 sets "restart") start it again.
//
// Usage (the service's ImagePath, written by install.ps1):
//   CcsAgentService.exe --name <service> --node <node.exe> --workdir <dir> --logs <dir>
//                       [--log-max-mb <n>] [--log-files <n>] [--stop-seconds <n>] -- <node arguments...>
//   CcsAgentService.exe --console ...   runs the same in the foreground (for troubleshooting).

using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.ServiceProcess;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;

namespace CcsAgent
{
    internal sealed class Options
    {
        public string Name = "CcsAgent";
        public string Node;
        public string WorkDir;
        public string Logs;
        public long LogMaxBytes = 10L * 1024 * 1024;
        public int LogFiles = 5;
        public int StopSeconds = 30;
        public bool Console;
        public List<string> NodeArgs = new List<string>();

        public static Options Parse(string[] args)
        {
            Options o = new Options();
            int i = 0;
            while (i < args.Length)
            {
                string a = args[i];
                if (a == "--") { for (int j = i + 1; j < args.Length; j++) o.NodeArgs.Add(args[j]); break; }
                if (a == "--console") { o.Console = true; i++; continue; }
                if (i + 1 >= args.Length) throw new ArgumentException("missing value after " + a);
                string v = args[i + 1];
                switch (a)
                {
                    case "--name": o.Name = v; break;
                    case "--node": o.Node = v; break;
                    case "--workdir": o.WorkDir = v; break;
                    case "--logs": o.Logs = v; break;
                    case "--log-max-mb": o.LogMaxBytes = long.Parse(v) * 1024 * 1024; break;
                    case "--log-files": o.LogFiles = int.Parse(v); break;
                    case "--stop-seconds": o.StopSeconds = int.Parse(v); break;
                    default: throw new ArgumentException("unknown option " + a);
                }
                i += 2;
            }
            if (string.IsNullOrEmpty(o.Node)) throw new ArgumentException("--node is required");
            if (string.IsNullOrEmpty(o.WorkDir)) throw new ArgumentException("--workdir is required");
            if (string.IsNullOrEmpty(o.Logs)) throw new ArgumentException("--logs is required");
            if (o.NodeArgs.Count == 0) throw new ArgumentException("the agent's arguments follow --");
            return o;
        }
    }

    /// <summary>agent.log, rotated by size: agent.log → agent.1.log → … → agent.N.log (dropped).</summary>
    internal sealed class RotatingLog : IDisposable
    {
        private readonly object gate = new object();
        private readonly string dir;
        private readonly long maxBytes;
        private readonly int files;
        private StreamWriter writer;

        public RotatingLog(string dir, long maxBytes, int files)
        {
            this.dir = dir;
            this.maxBytes = Math.Max(maxBytes, 64 * 1024);
            this.files = Math.Max(files, 1);
            Directory.CreateDirectory(dir);
            Open();
        }

        private string PathOf(int n) { return Path.Combine(dir, n == 0 ? "agent.log" : "agent." + n + ".log"); }

        private void Open()
        {
            FileStream stream = new FileStream(PathOf(0), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            writer = new StreamWriter(stream, new UTF8Encoding(false));
            writer.AutoFlush = true;
        }

        public void Write(string line)
        {
            lock (gate)
            {
                try
                {
                    if (writer.BaseStream.Length >= maxBytes) Rotate();
                    writer.WriteLine(line);
                }
                catch (IOException) { /* a full disk must not stop the agent */ }
            }
        }

        private void Rotate()
        {
            writer.Dispose();
            if (File.Exists(PathOf(files))) File.Delete(PathOf(files));
            for (int n = files - 1; n >= 0; n--)
            {
                if (File.Exists(PathOf(n))) File.Move(PathOf(n), PathOf(n + 1));
            }
            Open();
        }

        public void Dispose() { lock (gate) { if (writer != null) writer.Dispose(); } }
    }

    internal static class Native
    {
        [DllImport("kernel32.dll", SetLastError = true)] public static extern bool AttachConsole(uint processId);
        [DllImport("kernel32.dll", SetLastError = true)] public static extern bool FreeConsole();
        [DllImport("kernel32.dll", SetLastError = true)] public static extern bool SetConsoleCtrlHandler(IntPtr handler, bool add);
        [DllImport("kernel32.dll", SetLastError = true)] public static extern bool GenerateConsoleCtrlEvent(uint ctrlEvent, uint processGroupId);
        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)] public static extern IntPtr CreateJobObject(IntPtr attributes, string name);
        [DllImport("kernel32.dll", SetLastError = true)] public static extern bool SetInformationJobObject(IntPtr job, int infoClass, ref JOBOBJECT_EXTENDED_LIMIT_INFORMATION info, int length);
        [DllImport("kernel32.dll", SetLastError = true)] public static extern bool AssignProcessToJobObject(IntPtr job, IntPtr process);
        [DllImport("kernel32.dll", SetLastError = true)] public static extern bool TerminateJobObject(IntPtr job, uint exitCode);

        public const uint CTRL_C_EVENT = 0;
        public const int JobObjectExtendedLimitInformation = 9;
        public const uint JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000;

        [StructLayout(LayoutKind.Sequential)]
        public struct JOBOBJECT_BASIC_LIMIT_INFORMATION
        {
            public long PerProcessUserTimeLimit;
            public long PerJobUserTimeLimit;
            public uint LimitFlags;
            public UIntPtr MinimumWorkingSetSize;
            public UIntPtr MaximumWorkingSetSize;
            public uint ActiveProcessLimit;
            public UIntPtr Affinity;
            public uint PriorityClass;
            public uint SchedulingClass;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct IO_COUNTERS
        {
            public ulong ReadOperationCount, WriteOperationCount, OtherOperationCount;
            public ulong ReadTransferCount, WriteTransferCount, OtherTransferCount;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct JOBOBJECT_EXTENDED_LIMIT_INFORMATION
        {
            public JOBOBJECT_BASIC_LIMIT_INFORMATION BasicLimitInformation;
            public IO_COUNTERS IoInfo;
            public UIntPtr ProcessMemoryLimit;
            public UIntPtr JobMemoryLimit;
            public UIntPtr PeakProcessMemoryUsed;
            public UIntPtr PeakJobMemoryUsed;
        }
    }

    internal sealed class AgentService : ServiceBase
    {
        private static readonly Regex Level = new Regex("\"level\"\\s*:\\s*\"(error|warn)\"", RegexOptions.Compiled);
        private const int EventsPerMinute = 20;

        private const int SERVICE_ACCEPT_PRESHUTDOWN = 0x100;
        private const int SERVICE_CONTROL_PRESHUTDOWN = 0xF;

        private readonly Options options;
        private RotatingLog log;
        private Process child;
        private IntPtr job = IntPtr.Zero;
        private volatile bool stopping;
        private readonly object eventGate = new object();
        private DateTime eventWindow = DateTime.UtcNow;
        private int eventsInWindow;
        private int eventsDropped;

        public AgentService(Options options)
        {
            this.options = options;
            ServiceName = options.Name;
            CanStop = true;
            CanShutdown = true;
            AutoLog = false;
            AcceptPreshutdown();
        }

        /// <summary>ServiceBase reports its private acceptedCommands to the SCM: add pre-shutdown to them.</summary>
        private void AcceptPreshutdown()
        {
            FieldInfo accepted = typeof(ServiceBase).GetField("acceptedCommands", BindingFlags.Instance | BindingFlags.NonPublic);
            if (accepted == null) return; // a framework without the field: Shutdown still stops the agent
            accepted.SetValue(this, (int)accepted.GetValue(this) | SERVICE_ACCEPT_PRESHUTDOWN);
        }

        private void Event(string message, EventLogEntryType type, int id)
        {
            try
            {
                if (message.Length > 30000) message = message.Substring(0, 30000);
                EventLog.WriteEntry(options.Name, message, type, id);
            }
            catch (Exception) { /* the source may not be registered (console runs): the file log has it */ }
        }

        /// <summary>The agent's error and warn lines, at most EventsPerMinute a minute.</summary>
        private void EventForLine(string line)
        {
            Match m = Level.Match(line);
            if (!m.Success) return;
            lock (eventGate)
            {
                if ((DateTime.UtcNow - eventWindow).TotalSeconds >= 60)
                {
                    if (eventsDropped > 0) Event(eventsDropped + " more agent warnings/errors in the last minute: see agent.log", EventLogEntryType.Warning, 1005);
                    eventWindow = DateTime.UtcNow;
                    eventsInWindow = 0;
                    eventsDropped = 0;
                }
                if (eventsInWindow >= EventsPerMinute) { eventsDropped++; return; }
                eventsInWindow++;
            }
            bool error = m.Groups[1].Value == "error";
            Event(line, error ? EventLogEntryType.Error : EventLogEntryType.Warning, error ? 1003 : 1004);
        }

        private static string Quote(string arg)
        {
            // The MSVCRT rules node uses to split its command line back into argv.
            if (arg.Length > 0 && arg.IndexOfAny(new char[] { ' ', '\t', '"' }) < 0) return arg;
            StringBuilder sb = new StringBuilder("\"");
            int backslashes = 0;
            foreach (char c in arg)
            {
                if (c == '\\') { backslashes++; continue; }
                if (c == '"') { sb.Append('\\', backslashes * 2 + 1); sb.Append('"'); }
                else { sb.Append('\\', backslashes); sb.Append(c); }
                backslashes = 0;
            }
            sb.Append('\\', backslashes * 2);
            sb.Append('"');
            return sb.ToString();
        }

        public void StartAgent()
        {
            log = new RotatingLog(options.Logs, options.LogMaxBytes, options.LogFiles);
            List<string> quoted = new List<string>();
            foreach (string a in options.NodeArgs) quoted.Add(Quote(a));

            ProcessStartInfo info = new ProcessStartInfo(options.Node, string.Join(" ", quoted.ToArray()));
            info.WorkingDirectory = options.WorkDir;
            info.UseShellExecute = false;
            info.CreateNoWindow = true; // a console without a window: Ctrl+C can reach it
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = true;
            info.RedirectStandardInput = false;
            info.StandardOutputEncoding = new UTF8Encoding(false);
            info.StandardErrorEncoding = new UTF8Encoding(false);

            child = new Process();
            child.StartInfo = info;
            child.EnableRaisingEvents = true;
            child.OutputDataReceived += delegate (object s, DataReceivedEventArgs e) { if (e.Data != null) { log.Write(e.Data); EventForLine(e.Data); } };
            child.ErrorDataReceived += delegate (object s, DataReceivedEventArgs e) { if (e.Data != null) { log.Write("[stderr] " + e.Data); } };
            child.Exited += OnAgentExited;
            child.Start();

            job = Native.CreateJobObject(IntPtr.Zero, null);
            if (job != IntPtr.Zero)
            {
                Native.JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = new Native.JOBOBJECT_EXTENDED_LIMIT_INFORMATION();
                limits.BasicLimitInformation.LimitFlags = Native.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
                Native.SetInformationJobObject(job, Native.JobObjectExtendedLimitInformation, ref limits, Marshal.SizeOf(typeof(Native.JOBOBJECT_EXTENDED_LIMIT_INFORMATION)));
                Native.AssignProcessToJobObject(job, child.Handle);
            }
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            log.Write(Stamp("wrapper", "agent started, pid " + child.Id));
            Event("The CCS agent started (node pid " + child.Id + "). Log: " + Path.Combine(options.Logs, "agent.log"), EventLogEntryType.Information, 1000);
        }

        private static string Stamp(string source, string message)
        {
            return "{\"time\":\"" + DateTime.UtcNow.ToString("o") + "\",\"level\":\"info\",\"source\":\"" + source + "\",\"msg\":\"" + message.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"}";
        }

        private void OnAgentExited(object sender, EventArgs e)
        {
            if (stopping) return;
            int code = -1;
            try { code = child.ExitCode; } catch (InvalidOperationException) { }
            string message = "The CCS agent exited unexpectedly with code " + code + "; the service stops and the recovery actions restart it. See " + Path.Combine(options.Logs, "agent.log");
            log.Write(Stamp("wrapper", message));
            Event(message, EventLogEntryType.Error, 1002);
            log.Dispose();
            // Leaving without SERVICE_STOPPED is a failure for the SCM: its recovery actions apply.
            Environment.Exit(1);
        }

        public void StopAgent()
        {
            if (stopping) return; // pre-shutdown, then a late shutdown or stop: once is enough
            stopping = true;
            if (child == null) return;
            try
            {
                if (!child.HasExited)
                {
                    bool sent = false;
                    // A service has no console: borrow the agent's, ignore Ctrl+C here, send it there.
                    Native.FreeConsole();
                    if (Native.AttachConsole((uint)child.Id))
                    {
                        Native.SetConsoleCtrlHandler(IntPtr.Zero, true);
                        sent = Native.GenerateConsoleCtrlEvent(Native.CTRL_C_EVENT, 0);
                        Native.FreeConsole();
                    }
                    if (!sent || !child.WaitForExit(options.StopSeconds * 1000))
                    {
                        log.Write(Stamp("wrapper", "the agent did not stop in time: killed"));
                        if (job != IntPtr.Zero) Native.TerminateJobObject(job, 1);
                        else child.Kill();
                        child.WaitForExit(5000);
                    }
                }
                child.WaitForExit(); // drain the output readers
                log.Write(Stamp("wrapper", "agent stopped"));
            }
            catch (Win32Exception) { }
            catch (InvalidOperationException) { }
            Event("The CCS agent stopped.", EventLogEntryType.Information, 1001);
            if (log != null) log.Dispose();
        }

        protected override void OnStart(string[] args)
        {
            try { StartAgent(); }
            catch (Exception e)
            {
                Event("The CCS agent could not start: " + e, EventLogEntryType.Error, 1002);
                throw;
            }
        }

        protected override void OnStop()
        {
            RequestAdditionalTime((options.StopSeconds + 10) * 1000);
            StopAgent();
        }

        protected override void OnShutdown()
        {
            StopAgent();
        }

        protected override void OnCustomCommand(int command)
        {
            // Pre-shutdown: stop as for a Stop (STOP_PENDING with wait hints, then STOPPED), so the
            // message in hand is finished before Windows goes down.
            if (command == SERVICE_CONTROL_PRESHUTDOWN) Stop();
        }
    }

    internal static class Program
    {
        private static int Main(string[] args)
        {
            Options options;
            try { options = Options.Parse(args); }
            catch (Exception e)
            {
                System.Console.Error.WriteLine("CcsAgentService: " + e.Message);
                return 2;
            }
            AgentService service = new AgentService(options);
            if (options.Console)
            {
                ManualResetEvent done = new ManualResetEvent(false);
                System.Console.CancelKeyPress += delegate (object s, ConsoleCancelEventArgs e) { e.Cancel = true; done.Set(); };
                service.StartAgent();
                System.Console.WriteLine("Running; Ctrl+C stops. Log: " + Path.Combine(options.Logs, "agent.log"));
                done.WaitOne();
                service.StopAgent();
                return 0;
            }
            ServiceBase.Run(service);
            return 0;
        }
    }
}
