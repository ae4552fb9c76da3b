using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Messaging.Core.Tests;

/// <summary>The topic name rule Kafka's brokers apply (<c>org.apache.kafka.common.internals.Topic.validate</c>).</summary>
public sealed class TopicNamesTests
{
    [Theory]
    [InlineData("orders")]
    [InlineData("orders.v2_EU-west")]
    [InlineData("...")]
    [InlineData("_")]
    public void Names_Kafka_takes_are_legal(string name)
    {
        Assert.Null(TopicNames.Problem(name));
        Assert.True(TopicNames.IsLegal(Encoding.UTF8.GetBytes(name)));
    }

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData(".", "'.' and '..' are not allowed")]
    [InlineData("..", "'.' and '..' are not allowed")]
    [InlineData("orders/eu", "'/' is not allowed")]
    [InlineData("ordérs", "'é' is not allowed")]
    [InlineData("a b", "' ' is not allowed")]
    public void Names_Kafka_refuses_say_why(string name, string why)
    {
        Assert.StartsWith(why, TopicNames.Problem(name), StringComparison.Ordinal);
        Assert.False(TopicNames.IsLegal(Encoding.UTF8.GetBytes(name)));
    }

    [Fact]
    public void The_length_limit_is_249_characters()
    {
        Assert.Null(TopicNames.Problem(new string('a', TopicNames.MaxLength)));
        Assert.Equal("it has 250 characters, more than 249", TopicNames.Problem(new string('a', 250)));
        Assert.False(TopicNames.IsLegal(Encoding.UTF8.GetBytes(new string('a', 250))));
    }

    [Property(MaxTest = 500)]
    public void The_string_and_byte_checks_agree_on_any_name(NonNull<string> name)
    {
        Assert.Equal(TopicNames.Problem(name.Get) is null, TopicNames.IsLegal(Encoding.UTF8.GetBytes(name.Get)));
    }

    [Property(MaxTest = 500)]
    public Property Names_of_legal_characters_up_to_the_limit_are_legal() =>
        Prop.ForAll(
            Gen.Elements("abcXYZ019._-".ToCharArray()).ArrayOf().Where(static chars => chars.Length is > 0 and <= TopicNames.MaxLength)
                .Select(static chars => new string(chars)).Where(static name => name is not "." and not "..").ToArbitrary(),
            static name => TopicNames.Problem(name) is null && TopicNames.IsLegal(Encoding.UTF8.GetBytes(name)));

    [Fact]
    public void A_null_name_is_refused_as_an_argument() => Assert.Throws<ArgumentNullException>(() => TopicNames.Problem(null!));
}
