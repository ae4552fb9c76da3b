using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Messaging.Core.Tests.Architecture;

/// <summary>
/// Which part of an assembly uses which, read from its compiled IL: base types, interfaces, fields, signatures,
/// attributes, local variables and every type, field and method a method body touches. A part is a namespace by
/// default, or whatever <c>componentOf</c> maps a top-level type to (Core: its source folder, see
/// <see cref="SourceFolders"/>). Each edge keeps one example ("Type → Type") for the failure message.
/// </summary>
internal sealed class NamespaceGraph
{
    private readonly Dictionary<string, Dictionary<string, string>> _edges = new(StringComparer.Ordinal);

    private readonly Func<TypeReference, string> _componentOf;

    private NamespaceGraph(Func<TypeReference, string> componentOf) => _componentOf = componentOf;

    /// <summary>Parts (namespaces, or what <c>componentOf</c> returns) with at least one type.</summary>
    public SortedSet<string> Namespaces { get; } = new(StringComparer.Ordinal);

    /// <summary>References to types of other assemblies that pass <c>external</c>, with the referring type: from → (type, whether the type and member used are public).</summary>
    public List<(string From, string Target, bool Public)> ExternalUses { get; } = [];

    /// <summary>From part → to part → an example of the use.</summary>
    public IReadOnlyDictionary<string, Dictionary<string, string>> Edges => _edges;

    /// <summary>
    /// Reads <paramref name="assemblyPath"/>; <paramref name="external"/> selects other assemblies whose uses are
    /// recorded in <see cref="ExternalUses"/>; <paramref name="componentOf"/> names the part a top-level type
    /// belongs to (default: its namespace).
    /// </summary>
    public static NamespaceGraph Read(string assemblyPath, Func<string, bool>? external = null, Func<TypeReference, string>? componentOf = null)
    {
        var graph = new NamespaceGraph(componentOf ?? NamespaceOf);
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(assemblyPath)!);
        using var module = ModuleDefinition.ReadModule(assemblyPath, new ReaderParameters { AssemblyResolver = resolver });
        foreach (var type in module.GetTypes())
        {
            if (NamespaceOf(type).Length == 0 || type.Name == "<Module>" || IsCompilerGenerated(type.Name) && type.DeclaringType is null)
            {
                continue;
            }

            var from = graph.ComponentOf(type);
            graph.Namespaces.Add(from);
            var visitor = new Visitor(graph, module, from, OuterName(type), external);
            visitor.Visit(type);
        }

        return graph;
    }

    private static bool IsCompilerGenerated(string name) => name.StartsWith('<');

    private static string OuterName(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type.FullName;
    }

    internal static string NamespaceOf(TypeReference type) => Outermost(type).Namespace;

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    private string ComponentOf(TypeReference type) => _componentOf(Outermost(type));

    private void AddEdge(string from, string to, string example)
    {
        if (from == to)
        {
            return;
        }

        if (!_edges.TryGetValue(from, out var targets))
        {
            _edges[from] = targets = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        targets.TryAdd(to, example);
    }

    private sealed class Visitor(NamespaceGraph graph, ModuleDefinition module, string from, string fromType, Func<string, bool>? external)
    {
        private readonly HashSet<TypeReference> _seen = [];

        public void Visit(TypeDefinition type)
        {
            Use(type.BaseType);
            foreach (var face in type.Interfaces)
            {
                Use(face.InterfaceType);
            }

            Attributes(type.CustomAttributes);
            foreach (var parameter in type.GenericParameters)
            {
                foreach (var constraint in parameter.Constraints)
                {
                    Use(constraint.ConstraintType);
                }
            }

            foreach (var field in type.Fields)
            {
                Use(field.FieldType);
                Attributes(field.CustomAttributes);
            }

            foreach (var property in type.Properties)
            {
                Use(property.PropertyType);
                Attributes(property.CustomAttributes);
            }

            foreach (var method in type.Methods)
            {
                Signature(method);
                Attributes(method.CustomAttributes);
                if (!method.HasBody)
                {
                    continue;
                }

                foreach (var variable in method.Body.Variables)
                {
                    Use(variable.VariableType);
                }

                foreach (var handler in method.Body.ExceptionHandlers)
                {
                    Use(handler.CatchType);
                }

                foreach (var instruction in method.Body.Instructions)
                {
                    switch (instruction.Operand)
                    {
                        case TypeReference operandType:
                            Use(operandType);
                            break;
                        case MethodReference operandMethod:
                            Member(operandMethod.DeclaringType, operandMethod);
                            Signature(operandMethod);
                            if (operandMethod is GenericInstanceMethod generic)
                            {
                                foreach (var argument in generic.GenericArguments)
                                {
                                    Use(argument);
                                }
                            }

                            break;
                        case FieldReference operandField:
                            Member(operandField.DeclaringType, operandField);
                            Use(operandField.FieldType);
                            break;
                    }
                }
            }
        }

        private void Signature(MethodReference method)
        {
            Use(method.ReturnType);
            foreach (var parameter in method.Parameters)
            {
                Use(parameter.ParameterType);
            }
        }

        private void Attributes(IEnumerable<CustomAttribute> attributes)
        {
            foreach (var attribute in attributes)
            {
                Use(attribute.AttributeType);
            }
        }

        /// <summary>A member of another assembly's type: for the public-only rule the member must be public too.</summary>
        private void Member(TypeReference declaringType, MemberReference member)
        {
            Use(declaringType);
            var scope = declaringType.GetElementType().Scope;
            if (external is null || scope is ModuleDefinition || !external(scope.Name))
            {
                return;
            }

            var resolved = member switch
            {
                MethodReference m => (IMemberDefinition?)m.Resolve(),
                FieldReference f => f.Resolve(),
                _ => null,
            };
            var isPublic = resolved switch
            {
                MethodDefinition m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly,
                FieldDefinition f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
                _ => false,
            };
            graph.ExternalUses.Add((fromType, declaringType.FullName + "::" + member.Name, isPublic));
        }

        private void Use(TypeReference? type)
        {
            if (type is null || !_seen.Add(type))
            {
                return;
            }

            switch (type)
            {
                case GenericInstanceType generic:
                    Use(generic.ElementType);
                    foreach (var argument in generic.GenericArguments)
                    {
                        Use(argument);
                    }

                    return;
                case TypeSpecification specification:
                    Use(specification.ElementType);
                    return;
                case GenericParameter:
                    return;
            }

            if (type.Scope is ModuleDefinition || type.Scope == module)
            {
                if (NamespaceOf(type).Length > 0 && !IsCompilerGenerated(Outermost(type).Name))
                {
                    graph.AddEdge(from, graph.ComponentOf(type), fromType + " → " + type.FullName);
                }

                return;
            }

            if (external is not null && external(type.Scope.Name))
            {
                var definition = type.Resolve();
                var isPublic = definition is not null && IsVisible(definition);
                graph.ExternalUses.Add((fromType, type.FullName, isPublic));
            }
        }

        private static bool IsVisible(TypeDefinition type)
        {
            while (type.IsNested)
            {
                if (!(type.IsNestedPublic || type.IsNestedFamily || type.IsNestedFamilyOrAssembly))
                {
                    return false;
                }

                type = type.DeclaringType;
            }

            return type.IsPublic;
        }
    }
}
